"""(placeholder: filled in by issue passkey work)"""
