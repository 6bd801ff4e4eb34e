"""Workflow rules. Each function takes a Session, never commits, raises ServiceError."""
