/**
 * The live page's engine: polls /api/live/units (deltas) and /api/live/panel, applies them,
 * ages units on a timer, and shows "connection lost since …" while the server is away.
 *
 * One request at a time per stream, each with a timeout; after a failure it retries with a
 * short backoff, so the page reconnects by itself when the server or network returns.
 * Apply times are measured with performance marks into a fixed-size ring (no growth).
 * Entry points for Dash (ClientsideFunction "qz"): liveStart, liveFilter, liveSearch.
 */
(function () {
  'use strict';

  const rt = window.qzRuntime;
  const RING = 256;

  /** Fixed-size ring of recent numbers (apply times, server times). */
  function Ring() {
    this.values = new Float64Array(RING);
    this.n = 0;
  }
  Ring.prototype.push = function (v) {
    this.values[this.n % RING] = v;
    this.n++;
  };
  Ring.prototype.list = function () {
    return Array.from(this.values.slice(0, Math.min(this.n, RING)));
  };

  /**
   * @param {L.Map} map
   * @param {Object} cfg client_config from dashboard/live/api.py
   */
  function Controller(map, cfg) {
    this.map = map;
    this.cfg = cfg;
    this.layer = new rt.UnitLayer(map, cfg);
    this.panel = new rt.Panel(this, cfg);
    this.station = '';
    this.version = 0;
    this.lastFull = 0;
    this.generation = 0;
    this.lastOk = Date.now();
    this.failing = false;
    this.stopped = false;
    this.applyMs = new Ring();
    this.fetchMs = new Ring();
    this.serverMs = new Ring();
    this.applied = 0;
    this.timers = [
      setInterval(this.tick.bind(this), 1000),
      setInterval(this.layer.flash.bind(this.layer), 500),
    ];
    this.unitsTimer = null;
    this.panelTimer = null;
    map.on('overlayadd overlayremove', function (e) {
      if (e.name === cfg.units_layer_label) {
        this.layer.setVisible(e.type === 'overlayadd');
      }
    }, this);
    this.panel.clock();
    this.pollUnits();
    this.pollPanel();
  }

  Controller.prototype.getJSON = function (url) {
    return rt.getJSON(url, this.cfg.timeout_ms);
  };

  Controller.prototype.query = function (params) {
    const q = new URLSearchParams(params);
    if (this.station) {
      q.set('station', this.station);
    }
    return q.toString();
  };

  Controller.prototype.pollUnits = function () {
    if (this.stopped) {
      return;
    }
    const gen = this.generation;
    const full = Date.now() - this.lastFull > this.cfg.resync_s * 1000;
    const t0 = performance.now();
    const url = this.cfg.api + '/units?' + this.query({since: full ? 0 : this.version});
    const self = this;
    this.getJSON(url).then(function (d) {
      self.ok();  // the server answered: whatever happens next is not a connection problem
      if (gen === self.generation && !self.stopped) {
        self.fetchMs.push(performance.now() - t0);
        try {
          self.applyUnits(d);
        } catch (err) {
          console.error('qz: cannot apply a units update', err);
        }
      }
      return true;
    }, function () {
      self.fail();
      return false;
    }).then(function (ok) {
      if (self.stopped) {
        return;
      }
      const wait = ok === false ? 2000 : Math.max(50, self.cfg.poll_ms - (performance.now() - t0));
      self.unitsTimer = setTimeout(self.pollUnits.bind(self), wait);
    });
  };

  /** Apply one /api/live/units answer, timing it (JS plus the canvas repaint). */
  Controller.prototype.applyUnits = function (d) {
    const self = this;
    this.serverMs.push(d.ms);
    performance.mark('qz-apply-start');
    this.layer.apply(d);
    // Leaflet repaints the canvas in its own animation-frame callback, queued during
    // apply; ours runs after it, so the measure covers the JS and the repaint.
    requestAnimationFrame(function () {
      performance.mark('qz-apply-end');
      self.applyMs.push(performance.measure('qz-apply', 'qz-apply-start', 'qz-apply-end').duration);
      performance.clearMarks('qz-apply-start');
      performance.clearMarks('qz-apply-end');
      performance.clearMeasures('qz-apply');  // nothing accumulates in the timeline
    });
    this.applied++;
    this.version = d.v;
    if (d.full) {
      this.lastFull = Date.now();
    }
    this.counts();
  };

  Controller.prototype.pollPanel = function () {
    if (this.stopped) {
      return;
    }
    const gen = this.generation;
    const self = this;
    const url = this.cfg.api + '/panel?' + this.query({lang: this.cfg.lang, ack: this.cfg.ack ? 1 : 0,
      atok: this.panel.atok, otok: this.panel.otok});
    this.getJSON(url).then(function (d) {
      if (gen === self.generation && !self.stopped) {
        self.panel.apply(d);
        self.ok();
      }
    }).catch(function () {
      self.fail();
    }).then(function () {
      if (!self.stopped) {
        self.panelTimer = setTimeout(self.pollPanel.bind(self), self.cfg.panel_ms);
      }
    });
  };

  Controller.prototype.ok = function () {
    this.lastOk = Date.now();
    this.failing = false;
    this.panel.banner(null);
  };

  Controller.prototype.fail = function () {
    this.failing = true;
  };

  /** Once a second: age units, update counts and clock, show the banner if the server is away. */
  Controller.prototype.tick = function () {
    this.counts();
    this.panel.clock();
    if (Date.now() - this.lastOk > Math.max(3 * this.cfg.poll_ms, 5000)) {
      this.panel.banner(this.lastOk);
    }
  };

  Controller.prototype.counts = function () {
    this.panel.counts(this.layer.age());
  };

  /** Station filter or options changed. */
  Controller.prototype.setFilter = function (station, options) {
    const opts = options || [];
    this.layer.setShowOffDuty(opts.indexOf('off_duty') >= 0);
    this.panel.sound = opts.indexOf('sound') >= 0;
    const s = station || '';
    if (s !== this.station) {
      this.station = s;
      this.generation++;
      this.version = 0;
      this.lastFull = 0;
      this.layer.clear();
      this.panel.reset();
      this.layer.needFit = true;
      clearTimeout(this.unitsTimer);
      clearTimeout(this.panelTimer);
      this.pollUnits();
      this.pollPanel();
    }
  };

  Controller.prototype.stop = function () {
    this.stopped = true;
    this.timers.forEach(clearInterval);
    clearTimeout(this.unitsTimer);
    clearTimeout(this.panelTimer);
    this.layer.remove();
  };

  /** Figures for tests and bench/live_map.py. */
  Controller.prototype.stats = function () {
    return Object.assign(this.layer.stats(), {version: this.version, applied: this.applied,
      apply_ms: this.applyMs.list(), fetch_ms: this.fetchMs.list(), server_ms: this.serverMs.list(), failing: this.failing,
      last_ok: this.lastOk});
  };

  const state = {controller: null, filter: null};

  function start(config) {
    if (!config) {
      return window.dash_clientside.no_update;
    }
    rt.whenMap(config.map, function (map) {
      if (state.controller) {
        state.controller.stop();
      }
      const c = new Controller(map, config);
      state.controller = c;
      rt.live = c;
      map.on('unload', function () {
        c.stop();
        if (state.controller === c) {
          state.controller = null;
        }
      });
      // the live page's filter comes from its controls; the wall's from its address
      const filter = config.wall ? [config.station, []] : state.filter;
      if (filter) {
        c.setFilter(filter[0], filter[1]);
      }
    });
    return '';
  }

  window.dash_clientside = Object.assign(window.dash_clientside || {}, {
    qz: Object.assign((window.dash_clientside || {}).qz || {}, {
      /** Dash: start (or restart) the live engine once the map exists. */
      liveStart: start,
      /** Dash: station filter and options. */
      liveFilter: function (station, options) {
        state.filter = [station, options];
        if (state.controller) {
          state.controller.setFilter(station, options);
        }
        return '';
      },
      /** Dash: find a unit by call sign. */
      liveSearch: function (text) {
        return state.controller ? state.controller.layer.search(text) : '';
      },
    }),
  });
}());
