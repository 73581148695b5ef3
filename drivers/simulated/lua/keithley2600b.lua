-- The 2600B's SMU channels in TSP: source and measure attributes, reading buffers, measurements, the
-- trigger model, printbuffer and the factory sweep and pulse scripts (KISweep, KIPulse).
--
-- Run once per runtime with the TSP library table; `tsp.smu(name, hooks)` then builds one channel on
-- the host's hooks: get/set of the attributes the physics depends on, measure (current and voltage of
-- one measurement, time advancing by its integration), pulse, hold (time passing at the present
-- levels), now (the timer) and reset.

local tsp = ...

local ENABLE, DISABLE = 1, 0
local SOURCE_IDLE, SOURCE_HOLD = 0, 1
local OUTPUT_DCAMPS, OUTPUT_DCVOLTS = 0, 1

local buffers = setmetatable({}, {__mode = "k"})  -- a buffer object (or one of its lists) -> its data

-- A reading buffer: readings with their source values and timestamps; rb[i] is rb.readings[i].
function tsp.buffer(name, capacity)
  local data = {readings = {}, sourcevalues = {}, timestamps = {}, statuses = {}, base = 0}
  local getters, setters = {}, {}
  local settings = tsp.stored({
    appendmode = {0, tsp.one_of(0, 1)},
    collecttimestamps = {1, tsp.one_of(0, 1)},
    collectsourcevalues = {0, tsp.one_of(0, 1)},
    timestampresolution = {1e-6},
    fillmode = {0, tsp.one_of(0, 1)},
    fillcount = {0},
    cachemode = {1, tsp.one_of(0, 1)},
  }, getters, setters)
  data.settings = settings
  getters.n = function() return #data.readings end
  getters.capacity = function() return capacity end
  getters.basetimestamp = function() return data.base end
  -- A buffer's list (readings, sourcevalues...): indexed like a table, read-only.
  local function list(field)
    local view = tsp.object("synchronous_table", {}, {}, {
      getreading = function(i) return data[field][i] end,
    })
    local mt = getmetatable(view)
    local named = mt.__index
    mt.__index = function(self, key)
      if type(key) == "number" then
        return data[field][key]
      end
      return named(self, key)
    end
    buffers[view] = {values = data[field]}
    return view
  end
  local objects = {
    readings = list("readings"),
    sourcevalues = list("sourcevalues"),
    timestamps = list("timestamps"),
    statuses = list("statuses"),
    clear = function()
      for _, field in ipairs({"readings", "sourcevalues", "timestamps", "statuses"}) do
        local values = data[field]
        for i = #values, 1, -1 do values[i] = nil end
      end
    end,
    clearcache = function() end,
  }
  local object = tsp.object("reading_buffer", getters, setters, objects)
  local mt = getmetatable(object)
  local named = mt.__index
  mt.__index = function(self, key)
    if type(key) == "number" then
      return data.readings[key]
    end
    return named(self, key)
  end
  data.clear = objects.clear
  buffers[object] = {values = data.readings, data = data}
  for _, field in ipairs({"readings", "sourcevalues", "timestamps", "statuses"}) do
    buffers[objects[field]].values = data[field]
  end
  return object
end

local function buffer_data(buffer)
  local entry = buffers[buffer]
  if entry == nil or entry.data == nil then
    error("a reading buffer expected", 3)
  end
  return entry.data
end

-- A new measurement into a buffer starts it over, unless its append mode keeps what it holds.
local function start_storing(buffer)
  local data = buffer_data(buffer)
  if data.settings.appendmode == 0 then
    data.clear()
  end
  return data
end

local function store(data, reading, source_value, stamp_s)
  if #data.readings >= 1e6 then
    tsp.fail(-5012, "Reading buffer full")
  end
  if #data.readings == 0 then
    data.base = stamp_s
  end
  table.insert(data.readings, reading)
  table.insert(data.sourcevalues, source_value)
  table.insert(data.timestamps, stamp_s - data.base)
  table.insert(data.statuses, 0)
end

function printbuffer(first, last, ...)
  local lists = {...}
  local parts = {}
  for i = first, last do
    for _, list in ipairs(lists) do
      local entry = buffers[list]
      if entry == nil then
        error("bad argument to 'printbuffer' (reading buffer expected)", 2)
      end
      local value = entry.values[i]
      if value == nil then
        error("printbuffer: no reading " .. i .. " in the buffer", 2)
      end
      table.insert(parts, tsp.text(value))
    end
  end
  print(table.concat(parts, ", "))
end

-- One SMU channel.
function tsp.smu(name, hooks)
  local function attribute(getters, setters, path, read_only)
    local key = string.match(path, "[^.]+$")
    getters[key] = function() return hooks.get(path) end
    if not read_only then
      setters[key] = function(value) hooks.set(path, value) end
    end
  end

  -- source
  local source_getters, source_setters = {}, {}
  for _, path in ipairs({"func", "levelv", "leveli", "limitv", "limiti", "output", "rangev", "rangei",
                         "autorangev", "autorangei"}) do
    attribute(source_getters, source_setters, "source." .. path)
  end
  attribute(source_getters, source_setters, "source.compliance", true)
  local source_settings = tsp.stored({
    limitp = {1e30},
    lowrangev = {100e-3},
    lowrangei = {100e-9},
    offmode = {0, tsp.one_of(0, 1, 2)},
    offfunc = {1, tsp.one_of(0, 1)},
    offlimiti = {1e-3},
    offlimitv = {40},
    outputenableaction = {0, tsp.one_of(0, 1)},
    delay = {0},
    highc = {0, tsp.one_of(0, 1)},
    settling = {0},
    sink = {0, tsp.one_of(0, 1)},
  }, source_getters, source_setters)

  -- measure
  local measure_getters, measure_setters = {}, {}
  for _, path in ipairs({"nplc", "rangei", "autorangei", "rangev", "autorangev"}) do
    attribute(measure_getters, measure_setters, "measure." .. path)
  end
  local measure_settings = tsp.stored({
    autozero = {2, tsp.one_of(0, 1, 2)},
    count = {1, tsp.number_in(1, 60000)},
    interval = {0, tsp.number_in(0, 1)},
    delay = {0},
    delayfactor = {1},
    lowrangev = {100e-3},
    lowrangei = {100e-9},
  }, measure_getters, measure_setters)

  local function source_value()
    if hooks.get("source.func") == OUTPUT_DCAMPS then
      return hooks.get("source.leveli")
    end
    return hooks.get("source.levelv")
  end

  -- One measurement (count readings, interval apart) of `kind`, into up to two buffers.
  local function measure(kind, first, second)
    local first_data = first and start_storing(first)
    local second_data = second and start_storing(second)
    local a, b
    for k = 1, measure_settings.count do
      if k > 1 and measure_settings.interval > 0 then
        hooks.hold(measure_settings.interval)
      end
      if measure_settings.delay > 0 then
        hooks.hold(measure_settings.delay)
      end
      local current_a, voltage_v, stamp_s = hooks.measure()
      if kind == "i" then
        a = current_a
      elseif kind == "v" then
        a = voltage_v
      elseif kind == "r" then
        a = voltage_v / current_a
      elseif kind == "p" then
        a = voltage_v * current_a
      else
        a, b = current_a, voltage_v
      end
      local level = source_value()
      if first_data then store(first_data, a, level, stamp_s) end
      if second_data then store(second_data, b, level, stamp_s) end
    end
    return a, b
  end

  local filter_getters, filter_setters = {}, {}
  tsp.stored({count = {1}, enable = {0, tsp.one_of(0, 1)}, type = {1, tsp.one_of(0, 1, 2)}},
             filter_getters, filter_setters)
  local rel_getters, rel_setters = {}, {}
  tsp.stored({enablei = {0}, enablev = {0}, enabler = {0}, enablep = {0}, leveli = {0}, levelv = {0},
              levelr = {0}, levelp = {0}}, rel_getters, rel_setters)
  local measure_object = tsp.object(name .. ".measure", measure_getters, measure_setters, {
    i = function(buffer) return (measure("i", buffer)) end,
    v = function(buffer) return (measure("v", buffer)) end,
    r = function(buffer) return (measure("r", buffer)) end,
    p = function(buffer) return (measure("p", buffer)) end,
    iv = function(ibuffer, vbuffer) return measure("iv", ibuffer, vbuffer) end,
    overlappedi = function(buffer) measure("i", buffer) end,
    overlappedv = function(buffer) measure("v", buffer) end,
    overlappediv = function(ibuffer, vbuffer) measure("iv", ibuffer, vbuffer) end,
    filter = tsp.object(name .. ".measure.filter", filter_getters, filter_setters, {}),
    rel = tsp.object(name .. ".measure.rel", rel_getters, rel_setters, {}),
  })

  -- The trigger model: arm layer, trigger layer (source, measure, end pulse), end of sweep.
  local events = {}
  for _, event in ipairs({"ARMED", "SWEEPING", "SOURCE_COMPLETE", "MEASURE_COMPLETE", "PULSE_COMPLETE",
                          "SWEEP_COMPLETE", "IDLE"}) do
    events[event .. "_EVENT_ID"] = tsp.event_id()
  end
  local sweep = {values = nil, func = "v", measure = nil, armed = false}
  local function layer(layer_name, specs, objects)
    local getters, setters = {}, {}
    local values = tsp.stored(specs, getters, setters)
    return tsp.object(name .. ".trigger." .. layer_name, getters, setters, objects or {}), values
  end
  local arm, arm_values = layer("arm", {count = {1, tsp.number_in(0, 1048575)}, stimulus = {0}},
                                {set = function() end, clear = function() end})
  local function source_list(func, values)
    sweep.func, sweep.values = func, values
  end
  local function linear(func)
    return function(start, stop, points)
      local values = {}
      for k = 1, points do
        values[k] = points == 1 and start or start + (k - 1) * (stop - start) / (points - 1)
      end
      source_list(func, values)
    end
  end
  local function logarithmic(func)
    return function(start, stop, points, asymptote)
      asymptote = asymptote or 0
      local values = {}
      local low, high = math.log10(start - asymptote), math.log10(stop - asymptote)
      for k = 1, points do
        values[k] = asymptote + 10 ^ (points == 1 and low or low + (k - 1) * (high - low) / (points - 1))
      end
      source_list(func, values)
    end
  end
  local function listed(func)
    return function(values)
      local copied = {}
      for k = 1, #values do copied[k] = values[k] end
      source_list(func, copied)
    end
  end
  local source_layer, source_values = layer("source",
    {action = {DISABLE, tsp.one_of(0, 1)}, stimulus = {0}, limiti = {0}, limitv = {0}}, {
      linearv = linear("v"), lineari = linear("i"), logv = logarithmic("v"), logi = logarithmic("i"),
      listv = listed("v"), listi = listed("i"), set = function() end, clear = function() end,
    })
  local function measure_into(kind)
    return function(first, second) sweep.measure = {kind, first, second} end
  end
  local measure_layer, measure_values = layer("measure", {action = {DISABLE, tsp.one_of(0, 1, 2)},
                                                          stimulus = {0}}, {
    i = measure_into("i"), v = measure_into("v"), r = measure_into("r"), p = measure_into("p"),
    iv = measure_into("iv"), set = function() end, clear = function() end,
  })
  local endpulse, endpulse_values = layer("endpulse", {action = {SOURCE_HOLD, tsp.one_of(0, 1)},
                                                       stimulus = {0}}, {set = function() end})
  local endsweep, endsweep_values = layer("endsweep", {action = {SOURCE_IDLE, tsp.one_of(0, 1)},
                                                       stimulus = {0}}, {set = function() end})
  local trigger_getters, trigger_setters = {}, {}
  local trigger_values = tsp.stored({count = {1, tsp.number_in(0, 1048575)}, autoclear = {0},
                                     initiator = {0}}, trigger_getters, trigger_setters)

  local function timer_delay(stimulus)
    local timer = tsp.timer_delays[stimulus]
    return timer and timer.delay or 0
  end

  local function level_path(func)
    return func == "i" and "source.leveli" or "source.levelv"
  end

  -- Run the armed sweep to its end (the simulated instruments finish what they start at once).
  local function run_sweep()
    sweep.armed = false
    local idle = hooks.get(level_path(sweep.func))
    local limit_path = sweep.func == "i" and "source.limitv" or "source.limiti"
    local limit = sweep.func == "i" and source_values.limitv or source_values.limiti
    local kept_limit = hooks.get(limit_path)
    if limit > 0 then hooks.set(limit_path, limit) end
    local stored_into = sweep.measure
    if stored_into and measure_values.action ~= DISABLE then
      for k = 2, 3 do
        if stored_into[k] then start_storing(stored_into[k]) end
      end
    end
    local points = trigger_values.count
    if points == 0 and sweep.values then points = #sweep.values end
    for _ = 1, math.max(arm_values.count, 1) do
      for k = 1, points do
        local started = hooks.now()
        if source_values.action == ENABLE and sweep.values then
          local value = sweep.values[math.min(k, #sweep.values)]
          hooks.set(level_path(sweep.func), value)
        end
        local wait = timer_delay(measure_values.stimulus)
        if wait == 0 then wait = measure_settings.delay > 0 and measure_settings.delay or 0 end
        if wait > 0 then hooks.hold(wait) end
        if stored_into and measure_values.action ~= DISABLE then
          local keep = measure_settings.count
          measure_settings.count = 1
          local appending = {}
          for j = 2, 3 do
            local buffer = stored_into[j]
            if buffer then
              local data = buffer_data(buffer)
              appending[j] = data.settings.appendmode
              data.settings.appendmode = 1
            end
          end
          measure(stored_into[1], stored_into[2], stored_into[3])
          for j = 2, 3 do
            if stored_into[j] then buffer_data(stored_into[j]).settings.appendmode = appending[j] end
          end
          measure_settings.count = keep
        end
        if endpulse_values.action == SOURCE_IDLE then
          local width = timer_delay(endpulse_values.stimulus)
          local left = width - (hooks.now() - started)
          if left > 0 then hooks.hold(left) end
          hooks.set(level_path(sweep.func), idle)
        end
        local period = timer_delay(source_values.stimulus)
        local rest = period - (hooks.now() - started)
        if k < points and rest > 0 then hooks.hold(rest) end
      end
    end
    if endsweep_values.action == SOURCE_IDLE then
      hooks.set(level_path(sweep.func), idle)
    end
    if limit > 0 then hooks.set(limit_path, kept_limit) end
    hooks.swept()
  end

  local trigger_objects = {
    arm = arm, source = source_layer, measure = measure_layer, endpulse = endpulse, endsweep = endsweep,
    initiate = function()
      if hooks.get("source.output") == 0 then
        tsp.fail(-5064, "Cannot perform requested action while source autorange is enabled or output off")
      end
      sweep.armed = true
      if arm_values.stimulus == 0 then
        run_sweep()
      end
    end,
    abort = function() sweep.armed = false end,
    clear = function() end,
  }
  for event, id in pairs(events) do trigger_objects[event] = id end
  local trigger = tsp.object(name .. ".trigger", trigger_getters, trigger_setters, trigger_objects)

  local objects = {
    OUTPUT_DCAMPS = OUTPUT_DCAMPS, OUTPUT_DCVOLTS = OUTPUT_DCVOLTS,
    OUTPUT_OFF = 0, OUTPUT_ON = 1, OUTPUT_HIGH_Z = 2, OUTPUT_NORMAL = 0, OUTPUT_ZERO = 2,
    AUTORANGE_OFF = 0, AUTORANGE_ON = 1, AUTORANGE_FOLLOW_LIMIT = 2,
    AUTOZERO_OFF = 0, AUTOZERO_ONCE = 1, AUTOZERO_AUTO = 2,
    SENSE_LOCAL = 0, SENSE_REMOTE = 1, SENSE_CALA = 3,
    ENABLE = ENABLE, DISABLE = DISABLE, SOURCE_IDLE = SOURCE_IDLE, SOURCE_HOLD = SOURCE_HOLD,
    DELAY_OFF = 0, DELAY_AUTO = -1, FILTER_MOVING_AVG = 0, FILTER_REPEAT_AVG = 1, FILTER_MEDIAN = 2,
    ASYNC = 1,
    source = tsp.object(name .. ".source", source_getters, source_setters, {}),
    measure = measure_object,
    trigger = trigger,
    nvbuffer1 = tsp.buffer(name .. ".nvbuffer1", 100000),
    nvbuffer2 = tsp.buffer(name .. ".nvbuffer2", 100000),
    makebuffer = function(capacity) return tsp.buffer("buffer", capacity) end,
    reset = function() hooks.reset() end,
    abort = function() sweep.armed = false end,
    savebuffer = function() end,
  }
  local smu_getters, smu_setters = {}, {}
  tsp.stored({sense = {0, tsp.one_of(0, 1, 3)}}, smu_getters, smu_setters)
  local smu = tsp.object(name, smu_getters, smu_setters, objects)
  tsp.smus[smu] = {
    pulse = hooks.pulse,
    dwell = hooks.hold,
    fire = function() if sweep.armed then run_sweep() end end,
    buffer = function() return objects.nvbuffer1 end,
    reset_settings = function()
      objects.nvbuffer1.clear()
      objects.nvbuffer2.clear()
      source_values.action, measure_values.action = DISABLE, DISABLE
      endpulse_values.action, endsweep_values.action = SOURCE_HOLD, SOURCE_IDLE
      trigger_values.count, arm_values.count, arm_values.stimulus = 1, 1, 0
      measure_settings.count, measure_settings.delay, measure_settings.interval = 1, 0, 0
      sweep.values, sweep.measure, sweep.armed = nil, nil, false
    end,
  }
  return smu
end

tsp.smus = setmetatable({}, {__mode = "k"})

-- A bus trigger (*TRG) or trigger event: every armed sweep waiting for one runs.
function tsp.fire_triggers()
  for _, channel in pairs(tsp.smus) do channel.fire() end
end

function tsp.reset_smus()
  for _, channel in pairs(tsp.smus) do channel.reset_settings() end
end

local function channel_of(smu)
  local channel = tsp.smus[smu]
  if channel == nil then
    error("bad argument #1 (an SMU such as smua expected)", 3)
  end
  return channel
end

-- KIGeneral / KISweep factory scripts: a sweep, one measurement per point after `stime` of settling.
local function sweep_measure(smu, func, values, stime)
  local channel = channel_of(smu)
  if #values < 1 then
    error("a sweep needs at least one point", 3)
  end
  local buffer = channel.buffer()
  buffer.clear()
  local appending = buffer.appendmode
  buffer.appendmode = 1  -- every point joins the buffer
  smu.source.func = func == "v" and OUTPUT_DCVOLTS or OUTPUT_DCAMPS
  smu.source.output = 1
  for _, value in ipairs(values) do
    if func == "v" then smu.source.levelv = value else smu.source.leveli = value end
    if stime > 0 then delay(stime) end
    if func == "v" then smu.measure.i(buffer) else smu.measure.v(buffer) end
  end
  buffer.appendmode = appending
end

local function linear_points(start, stop, points)
  local values = {}
  for k = 1, points do
    values[k] = points == 1 and start or start + (k - 1) * (stop - start) / (points - 1)
  end
  return values
end

local function log_points(start, stop, points)
  local values = {}
  local low, high = math.log10(start), math.log10(stop)
  for k = 1, points do
    values[k] = 10 ^ (points == 1 and low or low + (k - 1) * (high - low) / (points - 1))
  end
  return values
end

-- SweepVLinMeasureI(smu, startv, stopv, stime, points) and its current and logarithmic siblings.
for name, form in pairs({
  SweepVLinMeasureI = {"v", linear_points}, SweepILinMeasureV = {"i", linear_points},
  SweepVLogMeasureI = {"v", log_points}, SweepILogMeasureV = {"i", log_points},
}) do
  _G[name] = function(smu, start, stop, stime, points)
    sweep_measure(smu, form[1], form[2](start, stop, points), stime)
  end
end

function SweepVListMeasureI(smu, vlist, stime, points)
  local values = {}
  for k = 1, points or #vlist do values[k] = vlist[k] end
  sweep_measure(smu, "v", values, stime)
end

function SweepIListMeasureV(smu, ilist, stime, points)
  local values = {}
  for k = 1, points or #ilist do values[k] = ilist[k] end
  sweep_measure(smu, "i", values, stime)
end

-- KIPulse PulseVMeasureI, as the 2600B runs it: the output at `bias` for `toff`, then `points` times a
-- pulse to `level` for `ton` (the current measured at its end into smu.nvbuffer1) and `toff` at `bias`.
-- The output is left on at `bias`.
function PulseVMeasureI(smu, bias, level, ton, toff, points)
  local channel = channel_of(smu)
  local data = start_storing(channel.buffer())
  smu.source.func = OUTPUT_DCVOLTS
  smu.source.levelv = bias
  smu.source.output = 1
  channel.dwell(toff)
  for _ = 1, points do
    local current_a, stamp_s = channel.pulse(bias, level, ton, toff)
    store(data, current_a, level, stamp_s)
  end
end

local configured = {}

-- ConfigPulseVMeasureI: a pulse train kept under `tag`, run later by InitiatePulseTest(tag).
function ConfigPulseVMeasureI(smu, bias, level, limit, ton, toff, points, buffer, tag)
  if type(tag) ~= "number" then
    return false, "tag must be a number"
  end
  if ton <= 0 or toff < 0 or points < 1 then
    return false, "pulse timing out of range"
  end
  configured[tag] = {smu = smu, bias = bias, level = level, limit = limit, ton = ton, toff = toff,
                     points = points, buffer = buffer}
  return true, "OK"
end

function InitiatePulseTest(tag)
  local test = configured[tag]
  if test == nil then
    return false, "no pulse train configured with tag " .. tostring(tag)
  end
  local channel = channel_of(test.smu)
  local kept = test.smu.source.limiti
  test.smu.source.limiti = test.limit
  local data = test.buffer and start_storing(test.buffer)
  for _ = 1, test.points do
    local current_a, stamp_s = channel.pulse(test.bias, test.level, test.ton, test.toff)
    if data then store(data, current_a, test.level, stamp_s) end
  end
  test.smu.source.limiti = kept
  return true, "OK"
end
