"""Every Redis key Stormline writes, in one place.

All keys of one jurisdiction share the hash tag `{<jurisdiction id>}`, so in a Redis Cluster they
live in one slot and a Lua script or MULTI may touch any of them together.

    sl:{j}:seq:incident               counter: global order of incidents (the score in every index)
    sl:{j}:seq:ticket:<year>          counter: ticket numbers, afresh each year
    sl:{j}:seq:call                   counter: call ids
    sl:{j}:incident:<ticket>          hash: v (version, for compare-and-set), data (MessagePack)
    sl:{j}:incident:<ticket>:history  stream: that incident's events (same ids as sl:{j}:events)
    sl:{j}:call:<call id>             string: the call (MessagePack)
    sl:{j}:incident:<ticket>:followers  hash: "email:<address>" → language, who asked to hear of changes
    sl:{j}:sms:<e164>                 string: a number's text conversation (texts.py), for hours
    sl:{j}:sms:reply:<message sid>    string: the answer a text got, for the gateway's retry of it (a day)
    sl:{j}:sms:stopped                set: numbers that texted STOP: nothing more is sent to them
    sl:{j}:incident:<ticket>:answered:<answer>  hash: the resident said so within the hour (once marker)
    sl:{j}:updates                    hash: cursor (the last event residents were told of, updates.py)
    sl:{j}:updates:sent               stream: each batch of residents' updates put in the outbox
    sl:{j}:photo:<photo id>           string: a resident's photo, redrawn as a JPEG, no metadata (photos.py)
    sl:{j}:idx:incidents              sorted set: every ticket, scored by its order
    sl:{j}:idx:status:<status>        sorted set: tickets in that status
    sl:{j}:idx:category:<code>        sorted set: tickets of that category
    sl:{j}:idx:priority:<P1..P4>      sorted set: tickets of that priority
    sl:{j}:idx:crew:<crew id>         sorted set: tickets assigned to that crew
    sl:{j}:geo:incidents              geo set: located tickets
    sl:{j}:events                     stream: every event; audit log, live feed and outbox source
    sl:{j}:idem:<sha256 of key>       hash: an Idempotency-Key's claim and first answer
    sl:{j}:user:<name>                hash: v (version), data (MessagePack account)
    sl:{j}:users                      set: every account name
    sl:{j}:user:<name>:sessions       set: digests of the account's live session ids
    sl:{j}:session:<sha256 of id>     string: a browser session (expires when idle)
    sl:{j}:token:<sha256 of secret>   string: an API token (deleted when revoked)
    sl:{j}:tokens                     hash: token name → digest
    sl:{j}:audit                      stream: sign-ins, denials, account and token changes
    sl:{j}:login:<sha256 of name[|address]>  hash: sign-in attempts and wait-until, per name (and address)
    sl:{j}:denials:<sha256 of address>:<minute>  counter: denied requests audited from one address
    sl:{j}:rate:<limit key>           string: rate limiter's theoretical arrival time (expires)
    sl:{j}:idx:needs_location         sorted set: tickets waiting for an agent to set their point
    sl:{j}:geo:gazetteer              string: the built gazetteer (MessagePack), shared by all workers
    sl:{j}:geo:gazetteer:digest       string: its SHA-256, which workers poll to pick up a new build
    sl:{j}:geo:imports                hash: import name → a city's imported address data (MessagePack)
    sl:{j}:geo:cache:<provider>:<sha256 of query>  string: an online geocoder's answer (expires)
    sl:{j}:geo:pins:<sha256 of words>  hash: agent → that agent's pin for words the gazetteer could not place
    sl:{j}:geo:pinned                 sorted set: normalised words with pins waiting, by the last pin's time
    sl:{j}:geo:aliases                hash: normalised words → a city alias learnt from pins (MessagePack)
    sl:{j}:outbox                     stream: deliveries to partners (consumer group "deliveries")
    sl:{j}:delivery:<id>              hash: a delivery's attempts, last error, delivered time
    sl:{j}:handoff:deadlines          sorted set: tickets whose 911 acknowledgement is due, by deadline
    sl:{j}:alarms                     stream: alarms for supervisors
    sl:{j}:center                     hash: v (version), data (the center's mode, MessagePack)
    sl:{j}:activation:<id>            string: a storm incident (activation), MessagePack
    sl:{j}:center:pending             string: a switch whose requeue (and stand-down report) is not done yet
    sl:{j}:center:pending:lock        string: the worker finishing it (expires)
    sl:{j}:center:review:<epoch>      hash: the review alarm for the interval ending then was raised
    sl:{j}:activations                sorted set: activation ids by start time
    sl:{j}:idx:due                    sorted set: open tickets by due time (epoch seconds)
    sl:{j}:overdue:<ticket>:<due>     hash: that due time's missed-deadline alarm was raised (expires)
    sl:{j}:surge:<window>:<category|all>  counter: calls in one window (expires after a week)
    sl:{j}:surge:alerted:<window>     hash: the window's surge alarm was raised (expires)
    sl:{j}:idx:activation:<id>        sorted set: tickets opened during a storm incident
    sl:{j}:report:<activation id>     string: the after-action report kept at stand-down
    sl:{j}:geo:open:<category>        geo set: located tickets of that category not yet done (duplicates)
    sl:{j}:idx:caller:<sha256 of number>  sorted set: tickets a callback number called about (30 days)
    sl:{j}:idx:word:<word>            sorted set: tickets whose calls said that word (words or address)
    sl:{j}:crews                      hash: crew id → crew (MessagePack)
    sl:{j}:crews:v                    hash: crew id → its version (what writes are guarded on)
    sl:{j}:geo:crews                  geo set: each crew's last known position
    sl:{j}:crew:positions             hash: crew id → its last fix (MessagePack)
    sl:{j}:crew:fixed                 hash: crew id → when its last fix was taken (what fixes are guarded on)
    sl:{j}:crew:seen                  sorted set: crew id → epoch seconds its device was last heard from
    sl:{j}:crew:load                  hash: crew id → jobs it has that are not done
    sl:{j}:crew:<id>:work             sorted set: that crew's tickets not done (assigned, en route, on scene)
    sl:{j}:crew:<id>:route            hash: v (version), data (its work in driving order, MessagePack)
    sl:{j}:crew:<id>:feed             stream: work sent to the crew's devices (consumer group "devices")
    sl:{j}:crew:<id>:silent:<seen>    string: the silent-crew alarm for that silence was raised (expires)
    sl:{j}:seq:job                    counter: street-segment job numbers
    sl:{j}:job:<id>                   hash: v (version), data (a street-segment job, MessagePack)
    sl:{j}:jobs                       sorted set: job ids by number
    sl:{j}:station:<site id>          hash: v (version), data (a warming station, MessagePack)
    sl:{j}:seq:transport              counter: transport request numbers
    sl:{j}:transport:<id>             hash: v, data (a ride to a warming station)
    sl:{j}:transports                 sorted set: transport request ids by creation time (epoch seconds)
    sl:{j}:ride:<ticket>              hash: id → the incident's ride not yet ended (one at a time)
    sl:{j}:van:<crew id>              hash: run → the van's run under way (one at a time)
    sl:{j}:seq:run                    counter: van run numbers
    sl:{j}:run:<id>                   hash: v, data (a van run: its pickups in order)
    sl:{j}:runs                       sorted set: run ids by creation time
    sl:{j}:agency:<service id>        hash: v, data (an agency's service, HSDS-shaped)
    sl:{j}:agencies                   set: every service id in the directory
    sl:{j}:seq:referral               counter: referral numbers
    sl:{j}:referral:<id>              hash: v, data (a referral to an agency)
    sl:{j}:referrals                  sorted set: referral ids by creation time
    sl:{j}:referrals:unanswered       sorted set: referrals sent and not answered, by when sent
    sl:{j}:partners:alerts:<ticket>   list: a shared incident's latest CAP messages to partners (MessagePack)
    sl:{j}:partners:shared            sorted set: tickets shared with partners, by their last message (epoch)
    sl:{j}:partners:cancelled         sorted set: tickets whose last partner message is a Cancel, by its time
    sl:{j}:seq:registry               counter: registered residents' numbers
    sl:{j}:registry:<id>              hash: v, data (a resident registered as needing help in an emergency)
    sl:{j}:registry:ids               sorted set: every registered resident id, by number
    sl:{j}:registry:phone:<sha256 of number>  set: residents registered with that number
    sl:{j}:registry:geo               geo set: located registered residents
    sl:{j}:registry:brief             hash: resident id → [lon, lat, needs, council district] (call-downs)
    sl:{j}:registry:withdrawn         set: sha256 of "<source>|<its id>" of residents who withdrew consent
    sl:{j}:registry:sources           hash: "<source>|<its id>" → resident id (a list imported again updates)
    sl:{j}:idx:exercise:<id>          sorted set: tickets opened during a drill (until it is purged)
    sl:{j}:exercise:<id>              string: a drill: its times, and its score sheet once stopped
    sl:{j}:exercises                  sorted set: drill ids by start time
    sl:{j}:exercise:<id>:made         set: "calldown:<id>" and "callback:<id>" a drill made (purged with it)
    sl:{j}:seq:callback               counter: callback request numbers
    sl:{j}:callback:<id>              hash: v, data (a resident to call back)
    sl:{j}:callbacks:queue            sorted set: waiting callbacks, by priority then when due
    sl:{j}:callbacks:promised         sorted set: callbacks with a promised time not yet made, by that time
    sl:{j}:callbacks:held             sorted set: callbacks an agent holds, by when the hold lapses
    sl:{j}:callbacks:sources          hash: the phone system's call id → callback id (one per call)
    sl:{j}:callbacks:ticket           hash: ticket → its callback waiting (the resident's place in the queue)
    sl:{j}:callbacks:phone:<sha256 of number>  hash: id of that number's callback waiting (called once)
    sl:{j}:callback:<id>:missed:<promised>  hash: the missed-promise alarm was raised (expires)
    sl:{j}:seq:calldown               counter: call-down list numbers
    sl:{j}:calldown:<id>              hash: v, data (a call-down list: its area, filter and size)
    sl:{j}:calldowns                  sorted set: call-down ids by number
    sl:{j}:calldown:<id>:todo         sorted set: residents not yet taken, by place in risk order
    sl:{j}:calldown:<id>:all          sorted set: every resident on the list, by place (its map reads it)
    sl:{j}:calldown:<id>:later        sorted set: residents to call again, by when (epoch seconds)
    sl:{j}:calldown:<id>:held         sorted set: residents an agent holds, by when the hold lapses (epoch s)
    sl:{j}:calldown:<id>:entry:<resident id>  hash: v, data (that resident's place: attempts, outcome)
    sl:{j}:calldown:<id>:tally        hash: outcome → residents (safe, help, unreached, …)
"""

from __future__ import annotations

import hashlib


class Keys:
    """Key builder for one jurisdiction."""

    __slots__ = ("_p",)

    def __init__(self, jurisdiction: str) -> None:
        self._p = f"sl:{{{jurisdiction}}}:"

    @property
    def incident_seq(self) -> str:
        return self._p + "seq:incident"

    def ticket_seq(self, year: int) -> str:
        return f"{self._p}seq:ticket:{year}"

    @property
    def call_seq(self) -> str:
        return self._p + "seq:call"

    def incident(self, ticket: str) -> str:
        return f"{self._p}incident:{ticket}"

    def history(self, ticket: str) -> str:
        return f"{self._p}incident:{ticket}:history"

    def call(self, call_id: str) -> str:
        return f"{self._p}call:{call_id}"

    def photo(self, photo_id: str) -> str:
        return f"{self._p}photo:{photo_id}"

    def resident_answer(self, ticket: str, answer: str) -> str:
        return f"{self._p}incident:{ticket}:answered:{answer}"

    def followers(self, ticket: str) -> str:
        return f"{self._p}incident:{ticket}:followers"

    def sms_conversation(self, e164: str) -> str:
        return f"{self._p}sms:{e164}"

    def sms_reply(self, message_sid: str) -> str:
        return f"{self._p}sms:reply:{message_sid}"

    @property
    def sms_stopped(self) -> str:
        return self._p + "sms:stopped"

    @property
    def updates(self) -> str:
        return self._p + "updates"

    @property
    def updates_sent(self) -> str:
        return self._p + "updates:sent"

    @property
    def all_incidents(self) -> str:
        return self._p + "idx:incidents"

    def by_status(self, status: str) -> str:
        return f"{self._p}idx:status:{status}"

    def by_category(self, code: str) -> str:
        return f"{self._p}idx:category:{code}"

    def by_priority(self, priority: str) -> str:
        return f"{self._p}idx:priority:{priority}"

    def by_crew(self, crew_id: str) -> str:
        return f"{self._p}idx:crew:{crew_id}"

    @property
    def needs_location(self) -> str:
        return self._p + "idx:needs_location"

    @property
    def gazetteer(self) -> str:
        return self._p + "geo:gazetteer"

    @property
    def gazetteer_digest(self) -> str:
        return self._p + "geo:gazetteer:digest"

    @property
    def geo_imports(self) -> str:
        return self._p + "geo:imports"

    @property
    def geo_cache(self) -> str:
        return self._p + "geo:cache:"

    @property
    def geo_pins(self) -> str:
        """Prefix: one hash per text, completed by geo.aliases."""
        return self._p + "geo:pins:"

    @property
    def geo_pinned(self) -> str:
        return self._p + "geo:pinned"

    @property
    def geo_aliases(self) -> str:
        return self._p + "geo:aliases"

    @property
    def outbox(self) -> str:
        return self._p + "outbox"

    def delivery(self, delivery_id: str) -> str:
        return f"{self._p}delivery:{delivery_id}"

    @property
    def handoff_deadlines(self) -> str:
        return self._p + "handoff:deadlines"

    @property
    def handoff_unstarted(self) -> str:
        """Life-safety incidents with no handoff step yet, by when to alarm about them next."""
        return self._p + "handoff:unstarted"

    def unstarted_alerted(self, ticket: str, slot: int) -> str:
        return f"{self._p}unstarted:{ticket}:{slot}"

    @property
    def alarms(self) -> str:
        return self._p + "alarms"

    @property
    def center(self) -> str:
        return self._p + "center"

    @property
    def center_pending(self) -> str:
        return self._p + "center:pending"

    @property
    def center_pending_lock(self) -> str:
        return self._p + "center:pending:lock"

    def review_alerted(self, due_at: int) -> str:
        return f"{self._p}center:review:{due_at}"

    def activation(self, activation_id: str) -> str:
        return f"{self._p}activation:{activation_id}"

    @property
    def activations(self) -> str:
        return self._p + "activations"

    @property
    def due(self) -> str:
        return self._p + "idx:due"

    def overdue_alerted(self, ticket: str, due_at: int) -> str:
        return f"{self._p}overdue:{ticket}:{due_at}"

    def by_activation(self, activation_id: str) -> str:
        return f"{self._p}idx:activation:{activation_id}"

    def report(self, activation_id: str) -> str:
        return f"{self._p}report:{activation_id}"

    def surge_count(self, window: int, category: str) -> str:
        return f"{self._p}surge:{window}:{category}"

    def surge_alerted(self, window: int) -> str:
        return f"{self._p}surge:alerted:{window}"

    def open_geo(self, category: str) -> str:
        return f"{self._p}geo:open:{category}"

    def by_word(self, word: str) -> str:
        return f"{self._p}idx:word:{word}"

    def by_caller(self, e164: str) -> str:
        # Hashed: a phone number is personal data and has no business in a key name.
        return self._p + "idx:caller:" + digest(e164)

    @property
    def crews(self) -> str:
        return self._p + "crews"

    @property
    def crew_versions(self) -> str:
        return self._p + "crews:v"

    @property
    def crew_geo(self) -> str:
        return self._p + "geo:crews"

    @property
    def crew_positions(self) -> str:
        return self._p + "crew:positions"

    @property
    def crew_fixed(self) -> str:
        return self._p + "crew:fixed"

    @property
    def crew_seen(self) -> str:
        return self._p + "crew:seen"

    @property
    def crew_load(self) -> str:
        return self._p + "crew:load"

    @property
    def queues(self) -> str:
        """Hash: work not done counted by "category|priority|status", kept by the incident writer."""
        return self._p + "queues"

    def crew_work(self, crew_id: str) -> str:
        return f"{self._p}crew:{crew_id}:work"

    def crew_route(self, crew_id: str) -> str:
        return f"{self._p}crew:{crew_id}:route"

    def crew_feed(self, crew_id: str) -> str:
        return f"{self._p}crew:{crew_id}:feed"

    def crew_silent(self, crew_id: str, seen: int) -> str:
        return f"{self._p}crew:{crew_id}:silent:{seen}"

    @property
    def job_seq(self) -> str:
        return self._p + "seq:job"

    def job(self, job_id: str) -> str:
        return f"{self._p}job:{job_id}"

    @property
    def jobs(self) -> str:
        return self._p + "jobs"

    def station(self, site_id: str) -> str:
        return f"{self._p}station:{site_id}"

    def seq(self, name: str) -> str:
        return f"{self._p}seq:{name}"

    def transport(self, request_id: str) -> str:
        return f"{self._p}transport:{request_id}"

    def ride_of(self, ticket: str) -> str:
        return f"{self._p}ride:{ticket}"

    def van_run(self, crew_id: str) -> str:
        return f"{self._p}van:{crew_id}"

    @property
    def transports(self) -> str:
        return self._p + "transports"

    def run(self, run_id: str) -> str:
        return f"{self._p}run:{run_id}"

    @property
    def runs(self) -> str:
        return self._p + "runs"

    def agency(self, service_id: str) -> str:
        return f"{self._p}agency:{service_id}"

    @property
    def agencies(self) -> str:
        return self._p + "agencies"

    def referral(self, referral_id: str) -> str:
        return f"{self._p}referral:{referral_id}"

    @property
    def referrals(self) -> str:
        return self._p + "referrals"

    @property
    def unanswered_referrals(self) -> str:
        return self._p + "referrals:unanswered"

    def partner_alerts(self, ticket: str) -> str:
        return f"{self._p}partners:alerts:{ticket}"

    @property
    def partners_shared(self) -> str:
        return self._p + "partners:shared"

    @property
    def partners_cancelled(self) -> str:
        return self._p + "partners:cancelled"

    @property
    def incident_geo(self) -> str:
        return self._p + "geo:incidents"

    @property
    def events(self) -> str:
        return self._p + "events"

    def idempotency(self, key: str) -> str:
        # Hashed: the client's key is arbitrary text and may be long.
        return self._p + "idem:" + digest(key)

    def user(self, name: str) -> str:
        return f"{self._p}user:{name}"

    @property
    def users(self) -> str:
        return self._p + "users"

    def user_sessions(self, name: str) -> str:
        return f"{self._p}user:{name}:sessions"

    def session(self, session_digest: str) -> str:
        return f"{self._p}session:{session_digest}"

    def token(self, token_digest: str) -> str:
        return f"{self._p}token:{token_digest}"

    @property
    def tokens(self) -> str:
        return self._p + "tokens"

    @property
    def auth_epoch(self) -> str:
        """A counter raised by every revocation, disabling, role change and sign-out.

        Open event streams check their credential again when it moves.
        """
        return self._p + "auth:epoch"

    @property
    def audit(self) -> str:
        return self._p + "audit"

    def login_gate(self, name: str, address: str | None = None) -> str:
        return self._p + "login:" + digest(name if address is None else f"{name}|{address}")

    def denials(self, address: str, minute: int) -> str:
        return f"{self._p}denials:{digest(address)}:{minute}"

    def rate(self, limit_key: str) -> str:
        return self._p + "rate:" + limit_key

    def by_exercise(self, exercise_id: str) -> str:
        return f"{self._p}idx:exercise:{exercise_id}"

    def exercise(self, exercise_id: str) -> str:
        return f"{self._p}exercise:{exercise_id}"

    @property
    def exercises(self) -> str:
        return self._p + "exercises"

    def exercise_made(self, exercise_id: str) -> str:
        return f"{self._p}exercise:{exercise_id}:made"

    def callback(self, callback_id: str) -> str:
        return f"{self._p}callback:{callback_id}"

    @property
    def callback_queue(self) -> str:
        return self._p + "callbacks:queue"

    @property
    def callback_promised(self) -> str:
        return self._p + "callbacks:promised"

    @property
    def callback_held(self) -> str:
        return self._p + "callbacks:held"

    @property
    def callback_sources(self) -> str:
        return self._p + "callbacks:sources"

    def callback_by_phone(self, e164: str) -> str:
        return self._p + "callbacks:phone:" + digest(e164)

    @property
    def callback_by_ticket(self) -> str:
        return self._p + "callbacks:ticket"

    def callback_alerted(self, callback_id: str, promised: int) -> str:
        return f"{self._p}callback:{callback_id}:missed:{promised}"

    def resident(self, resident_id: str) -> str:
        return f"{self._p}registry:{resident_id}"

    @property
    def residents(self) -> str:
        return self._p + "registry:ids"

    def residents_by_phone(self, e164: str) -> str:
        return self._p + "registry:phone:" + digest(e164)

    @property
    def residents_geo(self) -> str:
        return self._p + "registry:geo"

    @property
    def resident_briefs(self) -> str:
        return self._p + "registry:brief"

    @property
    def residents_withdrawn(self) -> str:
        return self._p + "registry:withdrawn"

    @property
    def resident_sources(self) -> str:
        return self._p + "registry:sources"

    def calldown(self, calldown_id: str) -> str:
        return f"{self._p}calldown:{calldown_id}"

    @property
    def calldowns(self) -> str:
        return self._p + "calldowns"

    def calldown_todo(self, calldown_id: str) -> str:
        return f"{self._p}calldown:{calldown_id}:todo"

    def calldown_all(self, calldown_id: str) -> str:
        return f"{self._p}calldown:{calldown_id}:all"

    def calldown_later(self, calldown_id: str) -> str:
        return f"{self._p}calldown:{calldown_id}:later"

    def calldown_held(self, calldown_id: str) -> str:
        return f"{self._p}calldown:{calldown_id}:held"

    def calldown_entry(self, calldown_id: str, resident_id: str) -> str:
        return f"{self._p}calldown:{calldown_id}:entry:{resident_id}"

    def calldown_tally(self, calldown_id: str) -> str:
        return f"{self._p}calldown:{calldown_id}:tally"


def digest(text: str) -> str:
    """SHA-256 hex of `text`: how secrets and arbitrary client text become key parts."""
    return hashlib.sha256(text.encode()).hexdigest()
