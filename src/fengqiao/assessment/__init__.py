"""Assessment (考核): indicators, composite scores and grades; the daily bulletin (每日通报)."""
