from django.urls import path

from fengqiao.accounts import views

app_name = "accounts"
urlpatterns = [
    path("", views.workbench_view, name="home"),
    path("workbench/", views.workbench_view, name="workbench"),
    # Login sequence (public until the second factor has passed).
    path("login/", views.login_view, name="login"),
    path("login/otp/", views.otp_view, name="otp"),
    path("login/enrol/", views.enrol_view, name="enrol"),
    path("logout/", views.logout_view, name="logout"),
    path("password/", views.password_change_view, name="password_change"),
    path("membership/switch/", views.switch_membership, name="switch_membership"),
    path("notifications/", views.notification_list, name="notifications"),
    path(
        "notifications/<uuid:public_id>/read/",
        views.notification_read,
        name="notification_read",
    ),
    # Personal API tokens.
    path("tokens/", views.token_list, name="tokens"),
    path("tokens/new/", views.token_create, name="token_create"),
    path("tokens/<str:prefix>/revoke/", views.token_revoke, name="token_revoke"),
    # System administrator.
    path("manage/users/", views.user_list, name="users"),
    path("manage/users/new/", views.user_create, name="user_create"),
    path("manage/users/<uuid:public_id>/", views.user_detail, name="user_detail"),
    path("manage/users/<uuid:public_id>/disable/", views.user_disable, name="user_disable"),
    path("manage/users/<uuid:public_id>/enable/", views.user_enable, name="user_enable"),
    path("manage/users/<uuid:public_id>/password/", views.user_password, name="user_password"),
    path(
        "manage/users/<uuid:public_id>/memberships/add/",
        views.membership_add,
        name="membership_add",
    ),
    path(
        "manage/users/<uuid:public_id>/memberships/remove/",
        views.membership_remove,
        name="membership_remove",
    ),
    path(
        "manage/users/<uuid:public_id>/memberships/role/",
        views.membership_role,
        name="membership_role",
    ),
    # Security administrator.
    path("security/lockouts/", views.lockout_list, name="security_lockouts"),
    path("security/lockouts/reset/", views.lockout_reset, name="security_lockout_reset"),
    path("security/users/", views.security_user_list, name="security_users"),
    path("security/users/<uuid:public_id>/", views.security_user_detail, name="security_user"),
    path(
        "security/users/<uuid:public_id>/sessions/end/",
        views.session_end,
        name="security_session_end",
    ),
    path(
        "security/users/<uuid:public_id>/sessions/end-all/",
        views.sessions_end_all,
        name="security_sessions_end_all",
    ),
    path(
        "security/users/<uuid:public_id>/totp/reset/",
        views.totp_reset,
        name="security_totp_reset",
    ),
]
