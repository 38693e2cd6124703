"""The briefing (日研判、周会商、月调度): every figure of the review page, the CLI and the exports.

`period` says which days, `config` which types count toward which headline and how stations are
weighed, `counts`/`service`/`cameras` compute the figures, `build` puts one briefing together for
an actor (permission and station scope decided here), `tasks` are the meeting's 督办 actions and
`playback` the tracks of units over a window.
"""
