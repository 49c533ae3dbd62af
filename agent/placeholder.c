/* SPDX-License-Identifier: MIT */
/* placeholder: delete once agent modules exist */
typedef int agent_placeholder;
