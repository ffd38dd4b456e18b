"""(placeholder: filled in by issue scim work)"""
