"""The languages hdbot speaks: one list for the settings, the catalogues, /lang and storage.

It lives in storage/ because storage keeps a person's choice and must refuse any other
language, and storage never imports bot/; everything else reads the list from here.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

CHINESE = "zh_CN"
ENGLISH = "en"

# Each language's code (its catalogue under locales/) and its name in itself, as /lang shows
# it: a person who cannot read the present language still finds their own.
LANGUAGES: Mapping[str, str] = MappingProxyType({CHINESE: "中文", ENGLISH: "English"})

# The deployment's language unless HDBOT_LANGUAGE says otherwise: the campaign is in China.
DEFAULT_LANGUAGE = CHINESE
