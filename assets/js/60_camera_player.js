/**
 * The body-camera player: one tile = one unit's live view, played with hls.js (HLS) or WebRTC
 * (WHEP, when the URL is a MediaMTX-style `…/whep` endpoint), whichever the URL says.
 *
 * - Opening a tile POSTs /api/live/stream/<unit>: the server checks the user's scope, audits the
 *   view and only then hands out the URL. A reconnection reuses that URL (the same viewing).
 * - The URL is checked here too against the allowed schemes and hosts of the page's config: a URL
 *   outside them is never loaded, whatever the server said.
 * - A picture frozen for `stall_s` shows "stream ended" with the last frame's time; the tile then
 *   looks at the stream every `retry_ms` (the HLS media playlist must have changed, or the WHEP
 *   offer be answered) and plays again by itself.
 * - At most `max` tiles of a page play at once (a wall PC decodes every one of them).
 * - hls.js (assets/vendor/hls, a pinned release) is loaded on first use only.
 */
(function () {
  'use strict';

  const tiles = new Set();          // every open tile of the page
  let hlsLoading = null;            // Promise of window.Hls
  let watchdog = null;
  let cfgCache = {el: null, cfg: null};

  /** The page's camera config (the hidden .qz-camera-config element), or null. */
  function config() {
    const el = document.querySelector('.qz-camera-config');
    if (!el) {
      return null;
    }
    if (cfgCache.el !== el || cfgCache.text !== el.dataset.config) {
      cfgCache = {el: el, text: el.dataset.config, cfg: JSON.parse(el.dataset.config)};
    }
    return cfgCache.cfg;
  }

  /**
   * Whether the player may load this URL: an allowed scheme, and an allowed host when hosts are listed.
   * @param {string} url
   * @param {Object} cfg
   * @returns {boolean}
   */
  function allowed(url, cfg) {
    let u;
    try {
      u = new URL(url);
    } catch (err) {
      return false;
    }
    const scheme = u.protocol.replace(/:$/, '').toLowerCase();
    if (cfg.schemes.indexOf(scheme) < 0 || !u.hostname) {
      return false;
    }
    return !cfg.hosts.length || cfg.hosts.indexOf(u.hostname.toLowerCase()) >= 0;
  }

  /** `whep` for a MediaMTX-style WebRTC endpoint (path ending in /whep), otherwise `hls`. */
  function kindOf(url) {
    return /\/whep\/?$/i.test(new URL(url).pathname) ? 'whep' : 'hls';
  }

  /** window.Hls, loading the vendored script once. */
  function loadHls(cfg) {
    if (window.Hls) {
      return Promise.resolve(window.Hls);
    }
    if (!hlsLoading) {
      hlsLoading = new Promise(function (resolve, reject) {
        const s = document.createElement('script');
        s.src = cfg.hls;
        s.onload = function () { resolve(window.Hls); };
        s.onerror = function () { hlsLoading = null; reject(new Error('hls.js did not load')); };
        document.head.appendChild(s);
      });
    }
    return hlsLoading;
  }

  /** How many tiles hold a playing slot. */
  function playingCount() {
    let n = 0;
    tiles.forEach(function (t) { n += t.slot ? 1 : 0; });
    return n;
  }

  /**
   * A tile for one unit inside `parent`; call open() to start it and close() to end it.
   * @param {HTMLElement} parent
   * @param {string} unit call sign
   * @param {string} label shown over the picture
   */
  function Tile(parent, unit, label) {
    this.unit = unit;
    this.slot = false;
    this.url = null;
    this.kind = null;
    this.engine = null;           // {stop: function} of the running hls.js / RTCPeerConnection
    this.lastTime = 0;
    this.lastProgress = 0;        // performance.now() of the last advance of currentTime
    this.lastFrameMs = null;      // wall clock of the last frame shown
    this.ended = false;
    this.retryAt = 0;
    this.probe = null;            // text of the media playlist when the stream ended
    this.closed = false;
    this.el = document.createElement('div');
    this.el.className = 'qz-cam-tile';
    this.el.dataset.unit = unit;
    this.video = document.createElement('video');
    this.video.muted = true;
    this.video.autoplay = true;
    this.video.playsInline = true;
    this.still = document.createElement('canvas');   // the last frame, kept on screen while the stream is down
    this.still.hidden = true;
    this.label = document.createElement('div');
    this.label.className = 'qz-cam-label';
    this.state = document.createElement('div');
    this.state.className = 'qz-cam-state';
    this.el.append(this.video, this.still, this.label, this.state);
    this.setLabel(label);
    parent.appendChild(this.el);
    tiles.add(this);
    ensureWatchdog();
  }

  Tile.prototype.setLabel = function (text) {
    if (this.label.textContent !== text) {
      this.label.textContent = text;
    }
  };

  /** Show a state line (or none) and mark the tile with it (data-state: for styles and tests). */
  Tile.prototype.show = function (state, text) {
    this.el.dataset.state = state;
    this.state.textContent = text || '';
    this.state.hidden = !text;
  };

  /** Take a playing slot, ask the server for the view (audited), and play it. */
  Tile.prototype.open = function () {
    const cfg = config();
    const self = this;
    if (!cfg) {
      return Promise.resolve(false);
    }
    if (playingCount() >= cfg.max) {
      this.show('limit', cfg.text['camera.limit'] + ' (' + cfg.max + ')');
      return Promise.resolve(false);
    }
    this.slot = true;
    this.show('connecting', cfg.text['camera.connecting']);
    return fetch(cfg.api + '/stream/' + encodeURIComponent(this.unit), {
      method: 'POST', credentials: 'same-origin', cache: 'no-store',
      headers: {'X-CSRFToken': window.qzRuntime.cookie('_csrf_token')},
    }).then(function (r) {
      if (!r.ok) {
        throw new Error('HTTP ' + r.status);
      }
      return r.json();
    }).then(function (view) {
      if (self.closed) {
        return false;
      }
      return self.play(view.url);
    }).catch(function (err) {
      console.warn('qz camera: cannot open ' + self.unit, err);
      self.slot = false;
      self.show('failed', cfg.text['camera.failed']);
      return false;
    });
  };

  /** Play a URL if the allow-list lets it; false (and nothing loaded) otherwise. */
  Tile.prototype.play = function (url) {
    const cfg = config();
    if (!cfg || !allowed(url, cfg)) {
      this.slot = false;
      this.show('refused', cfg ? cfg.text['camera.not_allowed'] : '');
      return false;
    }
    this.url = url;
    this.kind = kindOf(url);
    this.lastProgress = performance.now();
    this.start();
    ensureWatchdog();
    return true;
  };

  /** Start the engine the URL needs. */
  Tile.prototype.start = function () {
    const self = this;
    this.stop();
    if (this.kind === 'whep') {
      this.engine = startWhep(this.video, this.url, function () { self.end(); });
      return;
    }
    const cfg = config();
    if (this.video.canPlayType('application/vnd.apple.mpegurl') && !window.MediaSource) {
      this.video.src = this.url;               // a browser that plays HLS itself
      this.engine = {stop: function () { self.video.removeAttribute('src'); self.video.load(); }};
      return;
    }
    const engine = {hls: null, stopped: false, stop: function () {
      engine.stopped = true;
      if (engine.hls) {
        engine.hls.destroy();
      }
    }};
    this.engine = engine;
    loadHls(cfg).then(function (Hls) {
      if (engine.stopped) {
        return;
      }
      engine.hls = new Hls({enableWorker: true, workerPath: cfg.hls_worker, liveSyncDurationCount: 2,
                            manifestLoadingMaxRetry: 1, levelLoadingMaxRetry: 2, fragLoadingMaxRetry: 2});
      engine.hls.on(Hls.Events.ERROR, function (_, data) {
        if (data.fatal) {
          self.end();
        }
      });
      engine.hls.loadSource(self.url);
      engine.hls.attachMedia(self.video);
      self.video.play().catch(function () { /* autoplay of a muted video: retried by the watchdog */ });
    }).catch(function (err) {
      console.warn('qz camera:', err);
      self.end();
    });
  };

  Tile.prototype.stop = function () {
    if (this.engine) {
      this.engine.stop();
      this.engine = null;
    }
  };

  /** The stream stopped: show when the last frame was, stop the engine, and look again later. */
  Tile.prototype.end = function () {
    const cfg = config();
    if (this.ended || this.closed || !cfg) {
      return;
    }
    this.ended = true;
    this.keepLastFrame();
    this.stop();
    this.probe = null;
    this.retryAt = performance.now() + cfg.retry_ms;
    this.el.dataset.lastFrame = this.lastFrameMs ? String(this.lastFrameMs) : '';
    this.show('ended', this.lastFrameMs === null ? cfg.text['camera.no_picture']
      : cfg.text['camera.ended'] + ' ' + window.qzRuntime.fmtTime(this.lastFrameMs, cfg.tz));
  };

  /** Copy the picture shown now onto the still canvas (stopping the engine blanks the video). */
  Tile.prototype.keepLastFrame = function () {
    const v = this.video;
    if (!v.videoWidth || this.lastFrameMs === null) {
      return;
    }
    try {
      this.still.width = v.videoWidth;
      this.still.height = v.videoHeight;
      this.still.getContext('2d').drawImage(v, 0, 0);
      this.still.hidden = false;
    } catch (err) {
      this.still.hidden = true;   // a picture the page may not read (no CORS): no still, the text says it all
    }
  };

  /** Once a second: progress, stall, and for an ended stream whether it is back. */
  Tile.prototype.tick = function (now, cfg) {
    if (!this.url || this.closed) {
      return;
    }
    if (this.ended) {
      if (now >= this.retryAt) {
        this.retryAt = now + cfg.retry_ms;
        this.lookAgain();
      }
      return;
    }
    const t = this.video.currentTime;
    if (t > this.lastTime + 0.05) {
      this.lastTime = t;
      this.lastProgress = now;
      this.lastFrameMs = Date.now();
      if (this.el.dataset.state !== 'playing') {
        this.show('playing', '');
        this.still.hidden = true;
      }
    } else if (now - this.lastProgress > cfg.stall_s * (this.lastTime ? 1000 : 2000)) {
      this.end();      // (a first picture may take longer: a WebRTC connection, a gateway starting the stream)
    } else if (this.video.paused && this.video.readyState >= 2) {
      this.video.play().catch(function () {});
    }
  };

  /** Is the ended stream back? HLS: its media playlist changed since we last looked; WHEP: just try. */
  Tile.prototype.lookAgain = function () {
    const self = this;
    if (this.kind === 'whep') {
      this.resume();
      return;
    }
    mediaPlaylist(this.url).then(function (text) {
      if (self.closed || !self.ended) {
        return;
      }
      if (self.probe !== null && text !== self.probe) {
        self.resume();
      } else {
        self.probe = text;
      }
    }).catch(function () { self.probe = ''; });
  };

  /** Play again from the live edge (the stall watchdog gives it `stall_s` to show a picture). */
  Tile.prototype.resume = function () {
    this.ended = false;
    this.lastTime = 0;
    this.lastProgress = performance.now();
    this.start();
  };

  /** End the view: stop the engine, free the slot, remove the tile. */
  Tile.prototype.close = function () {
    this.closed = true;
    this.stop();
    this.slot = false;
    tiles.delete(this);
    this.el.remove();
  };

  /** The text of an HLS stream's media playlist (the first variant of a multivariant one). */
  function mediaPlaylist(url) {
    function get(u) {
      return fetch(u, {cache: 'no-store', credentials: 'omit'}).then(function (r) {
        if (!r.ok) {
          throw new Error('HTTP ' + r.status);
        }
        return r.text();
      });
    }
    return get(url).then(function (text) {
      if (text.indexOf('#EXT-X-STREAM-INF') < 0) {
        return text;
      }
      const lines = text.split('\n').map(function (l) { return l.trim(); });
      const at = lines.findIndex(function (l) { return l.indexOf('#EXT-X-STREAM-INF') === 0; });
      const variant = lines.slice(at + 1).find(function (l) { return l && l[0] !== '#'; });
      return variant ? get(new URL(variant, url).href) : text;
    });
  }

  /**
   * Receive a WHEP stream (RFC 9725): a recvonly offer POSTed as application/sdp, the answer applied.
   * @param {HTMLVideoElement} video
   * @param {string} url
   * @param {function()} onEnd called once when the connection fails or is refused
   * @returns {{stop: function}}
   */
  function startWhep(video, url, onEnd) {
    const pc = new RTCPeerConnection();
    let resource = null;
    let done = false;
    function fail() {
      if (!done) {
        done = true;
        onEnd();
      }
    }
    pc.addTransceiver('video', {direction: 'recvonly'});
    pc.addTransceiver('audio', {direction: 'recvonly'});
    pc.ontrack = function (e) {
      if (e.streams[0]) {
        if (video.srcObject !== e.streams[0]) {
          video.srcObject = e.streams[0];
        }
        return;
      }
      // a sender that names no stream (no msid): gather its tracks ourselves
      if (!video.srcObject) {
        video.srcObject = new MediaStream();
      }
      video.srcObject.addTrack(e.track);
    };
    pc.onconnectionstatechange = function () {
      if (pc.connectionState === 'failed' || pc.connectionState === 'disconnected') {
        fail();
      }
    };
    pc.createOffer().then(function (offer) {
      return pc.setLocalDescription(offer);
    }).then(function () {
      return gathered(pc, 2000);
    }).then(function () {
      return fetch(url, {method: 'POST', credentials: 'omit', headers: {'Content-Type': 'application/sdp'},
                         body: pc.localDescription.sdp});
    }).then(function (r) {
      if (!r.ok) {
        throw new Error('WHEP HTTP ' + r.status);
      }
      const where = r.headers.get('Location');
      resource = where ? new URL(where, url).href : null;
      return r.text();
    }).then(function (sdp) {
      return pc.setRemoteDescription({type: 'answer', sdp: sdp});
    }).catch(function (err) {
      console.warn('qz camera:', err);
      fail();
    });
    return {stop: function () {
      done = true;
      pc.close();
      video.srcObject = null;
      if (resource) {
        fetch(resource, {method: 'DELETE', credentials: 'omit'}).catch(function () {});
      }
    }};
  }

  /** Resolves when ICE gathering is complete, or after `ms` (the candidates found so far go out). */
  function gathered(pc, ms) {
    return new Promise(function (resolve) {
      if (pc.iceGatheringState === 'complete') {
        resolve();
        return;
      }
      const timer = setTimeout(resolve, ms);
      pc.addEventListener('icegatheringstatechange', function () {
        if (pc.iceGatheringState === 'complete') {
          clearTimeout(timer);
          resolve();
        }
      });
    });
  }

  /** One timer for every tile; tiles whose element left the page are closed. */
  function ensureWatchdog() {
    if (watchdog) {
      return;
    }
    watchdog = setInterval(function () {
      const cfg = config();
      const now = performance.now();
      tiles.forEach(function (t) {
        if (!t.el.isConnected || !cfg) {
          t.close();
        } else {
          t.tick(now, cfg);
        }
      });
      if (!tiles.size) {
        clearInterval(watchdog);
        watchdog = null;
      }
    }, 1000);
  }

  window.qzCamera = {Tile: Tile, tiles: tiles, config: config, allowed: allowed, kindOf: kindOf,
    playingCount: playingCount};
}());
