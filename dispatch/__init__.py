"""Who goes: crews, assignments, routes, warming stations, transport runs, agency referrals.

Empty until dispatch is built (issues 7 and 8); the package exists so the layout matches DESIGN.md.
"""
