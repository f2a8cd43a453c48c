"""Jobs: whole pipelines run by one command."""
