"""Table builders: records to tidy DataFrames (the power table; the others are in :mod:`simsched.result`)."""
