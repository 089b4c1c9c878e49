"""Business modules (民情通, 食安通, 智慧安监, 河长通) as intake presets inside the one event center:
the classes each module offers, the extra questions per class, and field checklists."""
