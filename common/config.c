/* SPDX-License-Identifier: MIT */
/* placeholder: being written */
typedef int bp_placeholder_config;
