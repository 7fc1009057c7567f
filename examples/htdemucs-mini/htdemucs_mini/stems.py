"""Stem layouts of the HTDemucs models.

DELIBERATE: this file is lint-clean but not formatted the way `ruff format` wants
(single quotes, cramped literals, a hand-wrapped call). See README.md.
"""

STEMS_4 = ('drums','bass','other','vocals')
STEMS_6 = ('drums','bass','other','vocals','guitar','piano')

_LAYOUTS = {4:STEMS_4, 6:STEMS_6}


def stem_names(num_sources: int) -> tuple[str, ...]:
    """Names of the model's output sources, in output order."""
    try:
        return _LAYOUTS[num_sources]
    except KeyError:
        raise ValueError(
            f'HTDemucs has 4 or 6 sources, got {num_sources}') from None


def stem_index(name: str, num_sources: int = 4) -> int:
    """Position of stem `name` in the model output."""
    names = stem_names(num_sources)
    if name not in names:
        raise ValueError(f'unknown stem {name!r}; '
                         f'expected one of {names}')
    return names.index(name)
