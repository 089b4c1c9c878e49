"""Supervision rounds and rectification (督查整改) and the towns' self-assessments."""
