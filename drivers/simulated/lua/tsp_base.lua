-- The TSP library every simulated Keithley instrument shares: objects the way the firmware builds them,
-- print and its number format, the error queue, timer, delay, status, display, beeper, scripts, nodes.
--
-- Run once per instrument runtime with the host's hooks (Python callables) as its argument; it returns
-- the library table `tsp` that the instrument files extend. Everything a user script can reach is a
-- global of the sandbox: the hooks themselves stay in this chunk's locals.

local host = ...
local tsp = {}

-- Objects as the firmware builds them: an empty table whose metatable lists Getters (attributes read
-- through a function), Setters (attributes written through one) and Objects (sub-objects, functions
-- and constants), with `luatype` naming the object's kind. Clients such as the keithley2600 package
-- walk these tables to learn what an object has.
function tsp.object(luatype, getters, setters, objects)
  local mt = {Getters = getters or {}, Setters = setters or {}, Objects = objects or {}, luatype = luatype}
  mt.__index = function(_, key)
    local get = mt.Getters[key]
    if get ~= nil then
      return get()
    end
    return mt.Objects[key]
  end
  mt.__newindex = function(_, key, value)
    local set = mt.Setters[key]
    if set ~= nil then
      set(value)
    elseif mt.Getters[key] ~= nil or mt.Objects[key] ~= nil then
      error("attribute " .. tostring(key) .. " of " .. luatype .. " is read-only", 2)
    else
      error(luatype .. " has no attribute " .. tostring(key), 2)
    end
  end
  return setmetatable({}, mt)
end

-- Plain stored attributes: `specs` maps a name to {default, check}, where check(value) returns an
-- error message for a value the instrument refuses (nil when it takes it).
function tsp.stored(specs, getters, setters, on_change)
  local values = {}
  for name, spec in pairs(specs) do
    values[name] = spec[1]
    getters[name] = function()
      return values[name]
    end
    setters[name] = function(value)
      local check = spec[2]
      local problem = check and check(value)
      if problem then
        tsp.fail(-222, "Parameter data out of range: " .. name .. " " .. problem)
      end
      values[name] = value
      if on_change then
        on_change(name, value)
      end
    end
  end
  return values
end

function tsp.number_in(low, high)
  return function(value)
    if type(value) ~= "number" or value ~= value or value < low or value > high then
      return "must be a number from " .. low .. " to " .. high
    end
  end
end

function tsp.one_of(...)
  local allowed = {...}
  return function(value)
    for _, choice in ipairs(allowed) do
      if value == choice then
        return nil
      end
    end
    return "takes " .. table.concat(allowed, ", ")
  end
end

-- An error the instrument would queue with its own code (the host raises it through the script).
function tsp.fail(code, message)
  host.fail(code, message)
end

-- print: numbers in the exponent form of format.asciiprecision digits, values separated by tabs (the
-- host formats them: it keeps the precision).
function tsp.text(value)
  return host.text(value)
end

print = host.print

function printnumber(...)
  local count = select("#", ...)
  local parts = {}
  for i = 1, count do
    parts[i] = host.text(tonumber((select(i, ...))))
  end
  host.emit(table.concat(parts, ", "))
end

do
  local getters, setters = {}, {}
  getters.asciiprecision = host.get_digits
  setters.asciiprecision = host.set_digits
  tsp.stored({
    data = {1, tsp.one_of(1)},  -- ASCII only: binary formats are not simulated
    byteorder = {1, tsp.one_of(0, 1)},
  }, getters, setters)
  format = tsp.object("format", getters, setters, {ASCII = 1, REAL32 = 4, REAL64 = 5, REAL = 2,
    NORMAL = 0, SWAPPED = 1, BIGENDIAN = 0, LITTLEENDIAN = 1})
end

errorqueue = tsp.object("errorqueue", {count = host.error_count}, {}, {
  next = host.error_next,
  clear = host.error_clear,
})

timer = tsp.object("timer", {}, {}, {
  reset = host.timer_reset,
  measure = tsp.object("timer.measure", {}, {}, {t = host.timer_t}),
})

function delay(seconds)
  if type(seconds) ~= "number" then
    error("bad argument #1 to 'delay' (number expected)", 2)
  end
  host.delay(seconds)
end

-- Every operation of the simulated instruments completes before the next command is taken.
function waitcomplete()
  host.complete()
end

function opc()
  host.opc()
end

function reset()
  host.reset()
end

function exit()
end

do
  local getters, setters = {}, {}
  tsp.stored({
    linefreq = {50, tsp.one_of(50, 60)},
    autolinefreq = {false},
    prompts = {0, tsp.one_of(0, 1)},
    prompts4882 = {1, tsp.one_of(0, 1)},
    showerrors = {0, tsp.one_of(0, 1)},
    password = {""},
    passwordmode = {1},
  }, getters, setters)
  getters.model = host.model
  getters.serialno = function() return "0000000" end
  getters.revision = function() return "1.0 (simulated)" end
  getters.description = function() return "labrram simulated instrument" end
  localnode = tsp.object("localnode", getters, setters, {
    reset = host.reset,
    DISABLE = 0,
    ENABLE = 1,
  })
end

do
  local getters, setters = {}, {}
  tsp.stored({enable = {1, tsp.one_of(0, 1)}}, getters, setters)
  beeper = tsp.object("beeper", getters, setters, {
    ON = 1,
    OFF = 0,
    beep = function(duration_s, frequency_hz)
      host.delay(duration_s)
    end,
  })
end

-- The front panel: what it shows is kept, not drawn.
do
  local getters, setters = {}, {}
  local shown = tsp.stored({screen = {0}}, getters, setters)
  local function channel_display(name)
    local measure_getters, measure_setters = {}, {}
    tsp.stored({func = {0, tsp.one_of(0, 1, 2, 3)}}, measure_getters, measure_setters)
    local limit_getters, limit_setters = {}, {}
    tsp.stored({func = {0, tsp.one_of(0, 1)}}, limit_getters, limit_setters)
    return tsp.object("display." .. name, {}, {}, {
      measure = tsp.object("display." .. name .. ".measure", measure_getters, measure_setters, {}),
      limit = tsp.object("display." .. name .. ".limit", limit_getters, limit_setters, {}),
    })
  end
  display = tsp.object("display", getters, setters, {
    SMUA = 0, SMUB = 1, SMUA_SMUB = 2, USER = 3,
    MEASURE_DCAMPS = 0, MEASURE_DCVOLTS = 1, MEASURE_OHMS = 2, MEASURE_WATTS = 3,
    LIMIT_IV = 0, LIMIT_P = 1,
    smua = channel_display("smua"),
    smub = channel_display("smub"),
    clear = function() shown.text = "" end,
    settext = function(text) shown.text = tostring(text) end,
    setcursor = function(row, column) end,
    getcursor = function() return 1, 1 end,
  })
end

-- Status registers: the model's condition registers, with enables kept for clients that set them.
do
  local function register(name, condition)
    local getters, setters = {}, {}
    tsp.stored({enable = {0}, ntr = {0}, ptr = {65535}}, getters, setters)
    getters.condition = condition or function() return 0 end
    getters.event = function() return 0 end
    return tsp.object("status." .. name, getters, setters, {})
  end
  local operation_getters, operation_setters = {}, {}
  tsp.stored({enable = {0}, ntr = {0}, ptr = {65535}}, operation_getters, operation_setters)
  operation_getters.condition = host.sweeping
  operation_getters.event = function() return 0 end
  local status_getters, status_setters = {}, {}
  tsp.stored({request_enable = {0}, node_enable = {0}}, status_getters, status_setters)
  status_getters.condition = host.status_byte
  status = tsp.object("status", status_getters, status_setters, {
    reset = function() end,
    standard = register("standard", host.event_status),
    operation = tsp.object("status.operation", operation_getters, operation_setters, {
      sweeping = register("operation.sweeping", host.sweeping),
      measuring = register("operation.measuring"),
      user = register("operation.user"),
    }),
    questionable = register("questionable"),
    measurement = register("measurement"),
    system = register("system"),
  })
end

-- Trigger events, blenders and timers of the instrument: kept for the SMUs' trigger model to read.
do
  local next_event = 1
  function tsp.event_id()
    next_event = next_event + 1
    return next_event
  end
  local function timer_object(index)
    local getters, setters = {}, {}
    local values = tsp.stored({
      count = {1, tsp.number_in(0, 1048575)},
      delay = {10e-6, tsp.number_in(0, 100e3)},
      passthrough = {false},
      stimulus = {0},
    }, getters, setters)
    local id = tsp.event_id()
    tsp.timer_delays[id] = values
    return tsp.object("trigger.timer[" .. index .. "]", getters, setters, {
      EVENT_ID = id,
      clear = function() end,
      wait = function() return true end,
    })
  end
  local function blender_object(index)
    local getters, setters = {}, {}
    tsp.stored({orenable = {false}}, getters, setters)
    local stimuli = {0, 0, 0, 0}
    return tsp.object("trigger.blender[" .. index .. "]", getters, setters, {
      EVENT_ID = tsp.event_id(),
      stimulus = stimuli,
      clear = function() end,
      wait = function() return true end,
    })
  end
  tsp.timer_delays = {}
  local timers, blenders = {}, {}
  for i = 1, 8 do timers[i] = timer_object(i) end
  for i = 1, 6 do blenders[i] = blender_object(i) end
  trigger = tsp.object("trigger", {}, {}, {
    EVENT_ID = tsp.event_id(),
    timer = timers,
    blender = blenders,
    clear = function() end,
    wait = function(timeout) return true end,
  })
end

-- Scripts: `loadscript Name ... endscript` arrives whole from the host; `script.new` the same way.
local scripts = {}

function tsp.script(name, source)
  local chunk, problem = loadstring(source, "=" .. (name ~= "" and name or "script"))
  if chunk == nil then
    tsp.fail(-285, "TSP Syntax error " .. problem)
  end
  setfenv(chunk, getfenv(1))
  local object = tsp.object("script", {
    name = function() return name end,
    source = function() return source end,
  }, {}, {
    run = function() return chunk() end,
    save = function() end,
  })
  getmetatable(object).__call = function() return chunk() end
  if name ~= "" then
    scripts[name] = object
    _G[name] = object
  else
    script.anonymous = object
  end
  return object
end

script = {
  new = function(source, name) return tsp.script(name or "", source) end,
  newautorun = function(source, name) return tsp.script(name or "", source) end,
  user = {scripts = scripts, catalog = function() return pairs(scripts) end},
  delete = function(name)
    scripts[name] = nil
    _G[name] = nil
  end,
}

-- TSP-Link: node[N] holds each instrument's objects; the master is node 1 unless told otherwise.
node = {}
tsplink = tsp.object("tsplink", {state = function() return "online" end}, {}, {
  reset = function() return host.node_count() end,
})

-- Lua 5.0 names TSP scripts still use.
table.getn = table.getn or function(t) return #t end
math.pow = math.pow or function(x, y) return x ^ y end

-- A chunk may run at most `tsp.budget` Lua instructions: a runaway loop is stopped with an error, as an
-- operator would abort it, instead of hanging the instrument. The host zeroes `tsp.ticks` per chunk.
do
  local per_tick = 1000000
  tsp.ticks, tsp.budget = 0, 100
  debug.sethook(function()
    tsp.ticks = tsp.ticks + 1
    if tsp.ticks > tsp.budget then
      error("script ran too long: stopped after " .. tsp.budget * per_tick .. " instructions", 2)
    end
  end, "", per_tick)
  function tsp.limit(instructions)
    tsp.ticks, tsp.budget = 0, math.max(1, math.floor(instructions / per_tick))
  end
end

-- The sandbox: nothing of the host machine (files, processes, modules) is reachable.
os, io, require, dofile, loadfile, package, debug, python, module, collectgarbage = nil

return tsp
