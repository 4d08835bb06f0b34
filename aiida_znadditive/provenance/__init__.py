"""QueryBuilder helpers, tables and figures for papers, archive export."""
