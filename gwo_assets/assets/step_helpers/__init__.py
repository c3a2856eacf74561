"""What every step uses besides its rules: run files (artifacts), check results from issue
tables, UI metadata, progress log lines. Not pipeline steps themselves."""
