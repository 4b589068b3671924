"""Names of the values the accounts app keeps in a staff session."""

# pk of the Membership the person is acting in; checked against the database on every request.
ACTIVE_MEMBERSHIP = "fengqiao_membership"
# UTC epoch seconds of the login, for the 12-hour absolute timeout (SECURITY 4).
LOGIN_AT = "fengqiao_login_at"
# UTC epoch seconds of the last request, for the 15-minute idle timeout.
LAST_SEEN = "fengqiao_last_seen"
# UTC epoch seconds when the UserSession row's last_seen_at was last written (once a minute).
SESSION_TOUCHED = "fengqiao_session_touched"
# pk of the user whose password was accepted but who has not yet passed the second factor.
PENDING_USER = "fengqiao_pending_user"
# UTC epoch seconds when the password was accepted; the pending state lasts a few minutes only.
PENDING_AT = "fengqiao_pending_at"
# Where to go after the second factor (already checked to be a local URL).
PENDING_NEXT = "fengqiao_pending_next"
# TOTP secret offered on the enrolment page until a code confirms it, encrypted (SECURITY 5).
ENROL_KEY = "fengqiao_enrol_key"
