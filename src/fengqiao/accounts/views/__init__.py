"""Views of the accounts app, by audience: login, personal pages, system and security admin."""

from fengqiao.accounts.views.login import (
    enrol_view,
    lockout_response,
    login_view,
    logout_view,
    otp_view,
    password_change_view,
)
from fengqiao.accounts.views.manage import (
    membership_add,
    membership_remove,
    membership_role,
    user_create,
    user_detail,
    user_disable,
    user_enable,
    user_list,
    user_password,
)
from fengqiao.accounts.views.personal import (
    switch_membership,
    token_create,
    token_list,
    token_revoke,
    workbench_view,
)
from fengqiao.accounts.views.security import (
    lockout_list,
    lockout_reset,
    security_user_detail,
    security_user_list,
    session_end,
    sessions_end_all,
    totp_reset,
)

__all__ = [
    "enrol_view",
    "lockout_list",
    "lockout_reset",
    "lockout_response",
    "login_view",
    "logout_view",
    "membership_add",
    "membership_remove",
    "membership_role",
    "otp_view",
    "password_change_view",
    "security_user_detail",
    "security_user_list",
    "session_end",
    "sessions_end_all",
    "switch_membership",
    "token_create",
    "token_list",
    "token_revoke",
    "totp_reset",
    "user_create",
    "user_detail",
    "user_disable",
    "user_enable",
    "user_list",
    "user_password",
    "workbench_view",
]
