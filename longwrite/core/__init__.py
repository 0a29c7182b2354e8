"""What every part of longwrite imports: settings, errors, text and length rules. It imports nothing
of ours outside itself (tests/unit/test_layout.py checks).
"""
