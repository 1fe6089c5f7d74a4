"""Helpers the tests share (not tests themselves): where things are, hand-drawn places with
known answers, design drawings, the live server and the external clients a test needs.

Fixtures live in tests/conftest.py; what belongs here is plain code the tests import.
"""
