"""identifiers"""
