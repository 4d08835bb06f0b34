"""Meta-database, models, screeners (``znadditive.screeners``) and generators (``znadditive.generators``)."""
