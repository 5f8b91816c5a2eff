"""Belgian and European identifiers as pure rules: OGM/VCS and RF references, IBANs, VAT and enterprise numbers."""
