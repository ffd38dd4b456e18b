"""(placeholder: filled in by issue provisioning work)"""
