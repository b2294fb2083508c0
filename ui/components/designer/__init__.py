"""The process designer's sections (ui/views/designer.py) and the ticket page's path diagram.

Each section draws one part of the draft or of the deployed versions and calls the designer,
migration and cockpit services; none of them reads the database or the engine itself.
"""
