"""Pipeline tasks: the edge that reads spec files and writes tables and figures."""
