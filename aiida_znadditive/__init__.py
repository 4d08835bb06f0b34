"""aiida-znadditive: find and design electrolyte additives for aqueous zinc-ion batteries with AiiDA."""

__version__ = '0.1.0'
