"""Django admin registrations for core: none.

The Django admin is not installed (SECURITY.md 9: no superuser in daily use). Audit events are
read in the audit viewer (``core:audit_list``) and the calendar is kept in ``core:calendar_list``;
both are capability-gated views.
"""
