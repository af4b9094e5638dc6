"""The staff pages: workbench, case list and export, case page with its actions, the map, notifications."""
