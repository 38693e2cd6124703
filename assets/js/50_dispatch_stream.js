/**
 * The dispatch page's live updates, without a dcc.Interval (see dashboard/dispatch/api.py).
 *
 * Every poll_ms it asks /api/dispatch/live what changed since the tokens of what is shown,
 * and pushes the new parts into the page with set_props (children that no callback reads, so
 * dash-renderer's undo history does not grow). After a click the page's callbacks redraw at
 * once and report the tokens of what they drew (dispatchShown); answers to requests sent
 * before that are dropped. A new selection drops them at once (they were drawn around the old
 * one), and polling waits until the callbacks have drawn the new incident: the poll neither puts
 * the old selection back in the queue nor redraws the new one under the user's pointer. One
 * request at a time, each with a timeout; while the server is away the banner says since when,
 * and the page carries on by itself when it returns.
 * Entry points for Dash (ClientsideFunction "qz"): dispatchStart, dispatchShown, dispatchSelected.
 */
(function () {
  'use strict';

  const rt = window.qzRuntime;
  if (!rt || !rt.getJSON) {
    console.error('qz: 50_dispatch_stream.js needs 00_qz_core.js');
    return;
  }
  const DETAIL_PARTS = ['head', 'units', 'recommend', 'layer'];

  /** @param {Object} cfg client_config of dashboard/dispatch/api.py */
  function Stream(cfg) {
    this.cfg = cfg;
    this.shown = {queue: null, incident: null, detail: null, actions: null};
    this.generation = 0;
    this.want = null;  // {incident, since}: selected, not yet drawn by the callbacks
    this.lastOk = Date.now();
    this.stopped = false;
    this.timer = null;
    this.applied = 0;
    this.poll();
  }

  /** What the callbacks drew: DISPATCH_QUEUE_SHOWN and DISPATCH_DETAIL_SHOWN. */
  Stream.prototype.learn = function (queue, detail) {
    const d = detail || {};
    this.generation++;  // an answer to a request sent before this describes an older page
    this.shown = {queue: (queue && queue.token) || null, incident: d.incident || null, detail: d.token || null,
      actions: d.actions || null};
    if (this.want && this.want.incident === this.shown.incident) {
      this.want = null;
    }
  };

  /** DISPATCH_SELECTED changed: answers in flight were drawn for the old selection. */
  Stream.prototype.select = function (incident) {
    this.generation++;
    incident = incident || null;
    this.want = incident === this.shown.incident ? null : {incident: incident, since: Date.now()};
  };

  Stream.prototype.url = function () {
    const q = new URLSearchParams({lang: this.cfg.lang, qtok: this.shown.queue});
    if (this.shown.incident) {
      q.set('incident', this.shown.incident);
      q.set('dtok', this.shown.detail || '');
      q.set('atok', this.shown.actions || '');
    }
    return this.cfg.api + '/live?' + q.toString();
  };

  Stream.prototype.poll = function () {
    if (this.stopped) {
      return;
    }
    if (!document.getElementById(this.cfg.ids.queue)) {  // the page was left
      this.stop();
      return;
    }
    const self = this;
    const gen = this.generation;
    const t0 = Date.now();
    const next = function () {
      if (!self.stopped) {
        self.timer = setTimeout(self.poll.bind(self), Math.max(50, self.cfg.poll_ms - (Date.now() - t0)));
      }
    };
    if (!this.shown.queue) {  // the callbacks have not drawn the page yet
      next();
      return;
    }
    if (this.want) {  // the callbacks are drawing a new selection; if they never report, ask for it
      if (Date.now() - this.want.since < this.cfg.timeout_ms) {
        next();
        return;
      }
      this.shown.incident = this.want.incident;
      this.want = null;
    }
    rt.getJSON(this.url(), this.cfg.timeout_ms).then(function (d) {
      self.lastOk = Date.now();
      rt.banner(self.cfg.ids.banner, null);
      if (gen === self.generation && !self.stopped) {
        self.apply(d);
      }
    }, function () {
      if (Date.now() - self.lastOk > Math.max(2 * self.cfg.poll_ms, 5000)) {
        rt.banner(self.cfg.ids.banner, self.lastOk, self.cfg.text.connection_lost, self.cfg.tz);
      }
    }).then(next);
  };

  /** Push the parts of one answer into the page. */
  Stream.prototype.apply = function (d) {
    const ids = this.cfg.ids;
    if (d.queue) {
      rt.setProps(ids.queue, {children: d.queue.cards});
      rt.setProps(ids.count, {children: d.queue.count});
      this.shown.queue = d.queue.token;
    }
    if (d.detail) {
      DETAIL_PARTS.forEach(function (part) { rt.setProps(ids[part], {children: d.detail[part]}); });
      this.shown.detail = d.detail.token;
    }
    if (d.actions) {
      rt.setProps(ids.actions, {children: d.actions.children});
      this.shown.actions = d.actions.token;
    }
    if (d.queue || d.detail || d.actions) {
      this.applied++;
    }
  };

  Stream.prototype.stop = function () {
    this.stopped = true;
    clearTimeout(this.timer);
  };

  const state = {stream: null, shown: [null, null], selected: undefined};

  window.dash_clientside = Object.assign(window.dash_clientside || {}, {
    qz: Object.assign((window.dash_clientside || {}).qz || {}, {
      /** Dash: start (or restart) polling with this page's config. */
      dispatchStart: function (config) {
        if (!config) {
          return window.dash_clientside.no_update;
        }
        if (state.stream) {
          state.stream.stop();
        }
        state.stream = new Stream(config);
        state.stream.learn(state.shown[0], state.shown[1]);
        if (state.selected !== undefined) {
          state.stream.select(state.selected);
        }
        rt.dispatch = state.stream;
        return '';
      },
      /** Dash: the tokens of what the callbacks drew. Dash calls this only once both callbacks are done. */
      dispatchShown: function (queue, detail) {
        state.shown = [queue, detail];
        if (state.stream) {
          state.stream.learn(queue, detail);
        }
        return '';
      },
      /** Dash: the selection changed; called at once, before the callbacks draw it. */
      dispatchSelected: function (selected) {
        state.selected = selected;
        if (state.stream) {
          state.stream.select(selected);
        }
        return '';
      },
    }),
  });
}());
