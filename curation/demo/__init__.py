"""The demo dataset generator: object cut-outs composited onto background photos (DESIGN.md §6).

Django-free: it takes paths and a config and returns arrays, bytes and a ground-truth record;
the service in `curation.services.demo` stores the result in Winnow.

- `sources`: discover object stamps (tuxpaint photo stamps, or a pip fallback) and backgrounds.
- `plan`: decide, from the seed alone, what every file shows and which effects it carries.
- `composer`: render a planned file into pixels, a mask and JPEG bytes.
- `truth`: the ground-truth document and helpers to read it.
"""
