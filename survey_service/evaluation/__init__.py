"""The office's two uses of the score: the composite ranking and the rectification lists.

- :mod:`.settings`: the wave's weights, shortlist sizes, committees and deadline;
- :mod:`.reading` (pure): decoding and checking an imported part's file;
- :mod:`.parts`: versioned, audited imports of the three other parts;
- :mod:`.ranking`: the weighted total out of 100, ranks, where satisfaction decides;
- :mod:`.funnel`: the 20 → 15 → 10 shortlist decisions and the one-vote vetoes;
- :mod:`.grouping` (pure): one problem per complaint, however worded;
- :mod:`.rectification`: the 整改清单 from issue to 销号, progress, wave comparison;
- :mod:`.exports` and :mod:`.chart`: the office's downloads.

This stage sits above results (it reads the published satisfaction scores and
the redacted comments); no other stage imports it.
"""
