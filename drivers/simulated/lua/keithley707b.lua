-- The 707B's channel object in TSP: close, open, exclusive closes, the closed list, channel patterns.
-- Channel lists name crosspoints ("1A01"), ranges ("1A01:1C04", every crosspoint of the rectangle),
-- whole cards ("slot3", "allslots") and patterns, separated by commas or semicolons; the host parses
-- them and keeps the relays.

local tsp = ...

function tsp.matrix_channel(hooks)
  local getters, setters = {}, {}
  tsp.stored({connectrule = {1, tsp.one_of(0, 1, 2)}}, getters, setters)
  local pattern = tsp.object("channel.pattern", {}, {}, {
    setimage = function(list, name) hooks.pattern_set(list, name) end,
    snapshot = function(name) hooks.pattern_snapshot(name) end,
    getimage = function(name) return hooks.pattern_get(name) end,
    delete = function(name) hooks.pattern_delete(name) end,
    catalog = function() return hooks.pattern_names() end,
  })
  return tsp.object("channel", getters, setters, {
    BREAK_BEFORE_MAKE = 1, MAKE_BEFORE_BREAK = 2, OFF = 0,
    close = function(list) hooks.close(list) end,
    open = function(list) hooks.open(list) end,
    exclusiveclose = function(list) hooks.exclusiveclose(list) end,
    exclusiveslotclose = function(list) hooks.exclusiveslotclose(list) end,
    getclose = function(list) return hooks.getclose(list) end,
    getstate = function(list) return hooks.getstate(list) end,
    reset = function(list) hooks.open(list or "allslots") end,
    pattern = pattern,
  })
end
