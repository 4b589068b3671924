"""Views of the cases app, by audience: citizens (public), intake, work pages, files, taxonomy."""
