"""The command line's groups, one module per stage (registered by survey_service.cli)."""
