"""The demo dataset generator: object cut-outs composited onto background photos (docs/ARCHITECTURE.md §6).

Django-free: it takes paths and a config and returns arrays, bytes and a ground-truth record;
the service in `curation.services.demo` stores the result in Winnow.

- `sources`: discover object stamps (tuxpaint photo stamps) and the background bank.
- `fallback`: object classes cut out of pip-shipped photos when the stamps are missing.
- `plan`: decide, from the seed alone, what every file shows and which effects it carries.
- `composer`: render a planned file into pixels, a mask and JPEG bytes.
- `truth`: the ground-truth document and helpers to read it.
- `build`: plan + render + truth in one call (`demo_build`), or file by file (`demo_files`).
"""
