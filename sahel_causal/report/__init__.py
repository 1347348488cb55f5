"""Reports: tables, figures and numbers for the paper. Reports format results; they never estimate."""
