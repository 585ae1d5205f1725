"""The desk side of sync: enrolment, push/pull client, applying pulled rows."""
