"""The products' own switches (flag files, variables, config files) that enable/disable write."""
