-- SPDX-License-Identifier: MIT
-- placeholder
SELECT 1;
