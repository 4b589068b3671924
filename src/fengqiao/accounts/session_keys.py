"""Names of the values the accounts app keeps in a staff session."""

# pk of the Membership the person is acting in; checked against the database on every request.
ACTIVE_MEMBERSHIP = "fengqiao_membership"
# UTC epoch seconds of the login, for the 12-hour absolute timeout (SECURITY 4).
LOGIN_AT = "fengqiao_login_at"
# pk of the user whose password was accepted but who has not yet passed the second factor.
PENDING_USER = "fengqiao_pending_user"
