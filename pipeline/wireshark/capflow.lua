-- capflow.lua: Wireshark post-dissector for the metadata capflow writes into pcapng packet
-- comments (frame.comment). Ships with capflow; `capflow wireshark install` puts it into the
-- personal Lua plugin folder. Lua 5.2 (Debian's Wireshark) or later, Wireshark 3.6 or later.
--
-- The grammar is capflow's public comment format (README, "Per-packet metadata in pcapng"),
-- the same one capflow's writer emits and its reader accepts:
--
--   tunnel vni=N src=IP dst=IP tos=N ttl=N tpSrc=N tpDst=N [label=N] [gbp=N] flags=F,...|none [mode=tx]
--   gso type=BASE[+FLAG...] size=N segs=N
--   gso not applied: capture truncated          (and other notes: "<stage> <text>")
--
-- N is decimal or 0x-prefixed hex. A comment that starts like one of capflow's but does not
-- follow the grammar gets an expert warning and no fields; it never raises a Lua error.

local capflow = Proto("capflow", "capflow metadata")

-- Tunnel flag bits: the kernel's TUNNEL_* values (include/net/ip_tunnels.h), as capflow keeps them.
local FLAG_BITS = { key = 0x0004, csum = 0x0001, df = 0x0100, oam = 0x0200, ["vxlan-opt"] = 0x1000 }
local FLAG_ORDER = { "key", "csum", "df", "oam", "vxlan-opt" }

-- SKB_GSO_* words of the gso note's type (pipeline/gso/notes.ts): a base kind and suffixes.
local GSO_WORDS = {
  tcpv4 = true, tcpv6 = true, udp_l4 = true,
  ecn = true, fixedid = true, udp_tunnel = true, udp_tunnel_csum = true, partial = true, dodgy = true,
}

-- Stage names a capflow note starts with (a comment "<stage> ..." that is not metadata).
local NOTE_PREFIXES = { "gso ", "egress ", "vxlan-decap ", "vxlan-encap ", "tunnel-key ", "mpls-push ", "mpls-pop " }

local f = {
  tunnel = ProtoField.none("capflow.tunnel", "Tunnel metadata"),
  vni = ProtoField.uint32("capflow.tunnel.vni", "VNI", base.DEC),
  src = ProtoField.ipv4("capflow.tunnel.src", "Outer source"),
  dst = ProtoField.ipv4("capflow.tunnel.dst", "Outer destination"),
  src6 = ProtoField.ipv6("capflow.tunnel.src6", "Outer source (IPv6)"),
  dst6 = ProtoField.ipv6("capflow.tunnel.dst6", "Outer destination (IPv6)"),
  tos = ProtoField.uint8("capflow.tunnel.tos", "TOS / traffic class", base.HEX),
  ttl = ProtoField.uint8("capflow.tunnel.ttl", "TTL / hop limit", base.DEC),
  tp_src = ProtoField.uint16("capflow.tunnel.tp_src", "UDP source port", base.DEC),
  tp_dst = ProtoField.uint16("capflow.tunnel.tp_dst", "UDP destination port", base.DEC),
  label = ProtoField.uint32("capflow.tunnel.label", "IPv6 flow label", base.HEX),
  gbp = ProtoField.uint32("capflow.tunnel.gbp", "VXLAN GBP option", base.HEX),
  flags = ProtoField.uint16("capflow.tunnel.flags", "Flags", base.HEX),
  flag_key = ProtoField.bool("capflow.tunnel.flags.key", "key (TUNNEL_KEY)", 16, nil, FLAG_BITS.key),
  flag_csum = ProtoField.bool("capflow.tunnel.flags.csum", "csum (TUNNEL_CSUM)", 16, nil, FLAG_BITS.csum),
  flag_df = ProtoField.bool("capflow.tunnel.flags.df", "df (TUNNEL_DONT_FRAGMENT)", 16, nil, FLAG_BITS.df),
  flag_oam = ProtoField.bool("capflow.tunnel.flags.oam", "oam (TUNNEL_OAM)", 16, nil, FLAG_BITS.oam),
  flag_vxlan_opt = ProtoField.bool("capflow.tunnel.flags.vxlan_opt", "vxlan-opt (TUNNEL_VXLAN_OPT)", 16, nil, FLAG_BITS["vxlan-opt"]),
  tx = ProtoField.bool("capflow.tunnel.tx", "Transmit key (mode=tx)"),
  gso = ProtoField.none("capflow.gso", "GSO request"),
  gso_type = ProtoField.string("capflow.gso.type", "GSO type"),
  gso_size = ProtoField.uint16("capflow.gso.size", "GSO size (payload bytes per segment)", base.DEC),
  gso_segs = ProtoField.uint16("capflow.gso.segs", "GSO segments", base.DEC),
  note = ProtoField.string("capflow.note", "Note"),
}
local FLAG_FIELDS = { key = f.flag_key, csum = f.flag_csum, df = f.flag_df, oam = f.flag_oam, ["vxlan-opt"] = f.flag_vxlan_opt }

capflow.fields = {
  f.tunnel, f.vni, f.src, f.dst, f.src6, f.dst6, f.tos, f.ttl, f.tp_src, f.tp_dst, f.label, f.gbp,
  f.flags, f.flag_key, f.flag_csum, f.flag_df, f.flag_oam, f.flag_vxlan_opt, f.tx,
  f.gso, f.gso_type, f.gso_size, f.gso_segs, f.note,
}

local ex = {
  gso = ProtoExpert.new("capflow.gso.expert", "Super-packet left to the NIC", expert.group.PROTOCOL, expert.severity.NOTE),
  note = ProtoExpert.new("capflow.note.expert", "capflow note", expert.group.PROTOCOL, expert.severity.NOTE),
  warn = ProtoExpert.new("capflow.note.warn", "capflow did not do what the pipeline asks", expert.group.PROTOCOL, expert.severity.WARN),
  bad = ProtoExpert.new("capflow.bad_comment", "capflow comment not understood", expert.group.PROTOCOL, expert.severity.WARN),
}
capflow.experts = { ex.gso, ex.note, ex.warn, ex.bad }

-- Notes that say capflow left something undone get a warning; other notes are informational.
local WARN_NOTES = { "^gso not applied:", " not applied:" }

local comment_field = Field.new("frame.comment")

------------------------------------------------------------------------------------------------
-- The grammar (pure functions: text in, a table or nil and a reason out)

-- A number: decimal digits or 0x + hex digits, at most `max`.
local function number(text, max)
  local v
  if text:match("^0[xX]%x+$") then
    if #text > 10 then return nil end
    v = tonumber(text:sub(3), 16)
  elseif text:match("^%d+$") then
    if #text > 10 then return nil end
    v = tonumber(text, 10)
  else
    return nil
  end
  if v == nil or v > max then return nil end
  return v
end

-- A dotted-quad part: 0..255 without leading zeros (as Node's net.isIPv4 accepts).
local function v4_part(p)
  if not p:match("^%d%d?%d?$") then return false end
  if #p > 1 and p:sub(1, 1) == "0" then return false end
  return tonumber(p) <= 255
end

local function is_ipv4(text)
  local a, b, c, d = text:match("^([^.]+)%.([^.]+)%.([^.]+)%.([^.]+)$")
  return a ~= nil and v4_part(a) and v4_part(b) and v4_part(c) and v4_part(d)
end

-- Count the 16-bit groups of one side of an IPv6 address (nil if malformed). `tail_ok`: the
-- side may end in a dotted quad (two groups).
local function v6_groups(side, tail_ok)
  if side == "" then return 0 end
  local parts = {}
  for p in (side .. ":"):gmatch("([^:]*):") do parts[#parts + 1] = p end
  local n = 0
  for i, p in ipairs(parts) do
    if i == #parts and tail_ok and p:find(".", 1, true) then
      if not is_ipv4(p) then return nil end
      n = n + 2
    elseif p:match("^%x%x?%x?%x?$") then
      n = n + 1
    else
      return nil
    end
  end
  return n
end

local function is_ipv6(text)
  if not text:match("^[%x:.]+$") then return false end
  local s, e = text:find("::", 1, true)
  if s then
    if text:find("::", e + 1, true) then return false end
    local left, right = text:sub(1, s - 1), text:sub(e + 1)
    local l = v6_groups(left, false)
    local r = v6_groups(right, true)
    return l ~= nil and r ~= nil and l + r <= 7
  end
  return v6_groups(text, true) == 8
end

-- Keys of the tunnel comment: parser and upper bound.
local TUNNEL_NUMBERS = {
  vni = 0xFFFFFF, tos = 0xFF, ttl = 0xFF, tpSrc = 0xFFFF, tpDst = 0xFFFF, label = 0xFFFFF, gbp = 0xFFFFFFFF,
}

local function parse_tunnel(text)
  local t = { vni = 0, tos = 0, ttl = 0, tpSrc = 0, tpDst = 0, flags = 0, tx = false }
  local seen = {}
  for part in text:sub(8):gmatch("%S+") do
    local key, val = part:match("^([^=]*)=(.*)$")
    if key == nil then return nil, "\"" .. part .. "\" is not key=value" end
    if seen[key] then return nil, "key " .. key .. " given twice" end
    seen[key] = true
    if TUNNEL_NUMBERS[key] then
      local v = number(val, TUNNEL_NUMBERS[key])
      if v == nil then return nil, key .. "=" .. val .. ": expected a number up to " .. TUNNEL_NUMBERS[key] end
      t[key] = v
    elseif key == "src" or key == "dst" then
      if is_ipv4(val) then
        t[key .. "_family"] = 4
      elseif is_ipv6(val) then
        t[key .. "_family"] = 6
      else
        return nil, key .. "=" .. val .. ": not an IP address"
      end
      t[key] = val
    elseif key == "flags" then
      t.flag_list = {}
      if val ~= "none" then
        for name in (val .. ","):gmatch("([^,]*),") do
          local bit = FLAG_BITS[name]
          if bit == nil then return nil, "flags: unknown flag \"" .. name .. "\"" end
          if t.flag_list[name] == nil then
            t.flags = t.flags + bit
            t.flag_list[name] = true
          end
        end
      end
    elseif key == "mode" then
      if val ~= "tx" then return nil, "mode=" .. val .. ": expected tx" end
      t.tx = true
    else
      return nil, "unknown key \"" .. key .. "\""
    end
  end
  if t.src == nil or t.dst == nil then return nil, "src= and dst= are required" end
  if t.src_family ~= t.dst_family then return nil, "src and dst are of different address families" end
  return t
end

local function parse_gso(text)
  local typ, size, segs = text:match("^gso type=(%S+) size=(%d+) segs=(%d+)")
  if typ == nil then return nil end
  local nonzero = false
  for word in (typ .. "+"):gmatch("([^+]*)%+") do
    if GSO_WORDS[word] then
      nonzero = true
    elseif word:match("^0[xX]%x+$") then
      local v = number(word, 0xFFFFFFFF)
      if v == nil then return nil, "type word " .. word .. " is out of range" end
      if v ~= 0 then nonzero = true end
    elseif word ~= "none" then
      return nil, "unknown type word \"" .. word .. "\""
    end
  end
  if not nonzero then return nil, "type " .. typ .. " requests no segmentation" end
  local s = number(size, 0xFFFF)
  if s == nil or s == 0 then return nil, "size=" .. size .. ": expected 1..65535" end
  local n = number(segs, 0xFFFF)
  if n == nil then return nil, "segs=" .. segs .. ": expected 0..65535" end
  return { type = typ, size = s, segs = n }
end

local function starts_with(text, prefix)
  return text:sub(1, #prefix) == prefix
end

-- Classify one comment: "tunnel" | "gso" | "note" | "bad" (with a reason) | nil (not capflow's).
local function classify(text)
  if starts_with(text, "tunnel ") then
    local t, why = parse_tunnel(text)
    if t then return "tunnel", t end
    return "bad", "tunnel comment: " .. why
  end
  if text:match("^gso type=%S+ size=%d+ segs=%d+") then
    local g, why = parse_gso(text)
    if g then return "gso", g end
    return "bad", "gso comment: " .. why
  end
  for _, prefix in ipairs(NOTE_PREFIXES) do
    if starts_with(text, prefix) then return "note", text end
  end
  return nil
end

------------------------------------------------------------------------------------------------
-- The tree

local function flag_names(t)
  local names = {}
  for _, name in ipairs(FLAG_ORDER) do
    if t.flag_list and t.flag_list[name] then names[#names + 1] = name end
  end
  return #names > 0 and table.concat(names, ",") or "none"
end

local function add_tunnel(root, t)
  local sub = root:add(f.tunnel)
  sub:set_generated()
  sub:append_text(string.format(": vni %d, %s -> %s", t.vni, t.src, t.dst))
  sub:add(f.vni, t.vni)
  if t.src_family == 4 then
    sub:add(f.src, Address.ip(t.src))
    sub:add(f.dst, Address.ip(t.dst))
  else
    sub:add(f.src6, Address.ipv6(t.src))
    sub:add(f.dst6, Address.ipv6(t.dst))
  end
  sub:add(f.tos, t.tos)
  sub:add(f.ttl, t.ttl):append_text(t.ttl == 0 and " (device default)" or "")
  sub:add(f.tp_src, t.tpSrc)
  sub:add(f.tp_dst, t.tpDst)
  if t.label ~= nil then sub:add(f.label, t.label) end
  if t.gbp ~= nil then sub:add(f.gbp, t.gbp) end
  local fl = sub:add(f.flags, t.flags)
  fl:append_text(" (" .. flag_names(t) .. ")")
  for _, name in ipairs(FLAG_ORDER) do fl:add(FLAG_FIELDS[name], t.flags) end
  sub:add(f.tx, t.tx)
end

local function add_gso(root, g)
  local sub = root:add(f.gso)
  sub:set_generated()
  sub:append_text(string.format(": %s, %d segments of %d bytes", g.type, g.segs, g.size))
  sub:add(f.gso_type, g.type)
  sub:add(f.gso_size, g.size)
  sub:add(f.gso_segs, g.segs)
  sub:add_proto_expert_info(ex.gso, string.format("Super-packet handed to the NIC whole (%s): %d segments of %d bytes; its checksum is partial", g.type, g.segs, g.size))
end

local function add_note(root, text)
  local item = root:add(f.note, text)
  item:set_generated()
  local warn = false
  for _, p in ipairs(WARN_NOTES) do
    if text:find(p) then warn = true end
  end
  item:add_proto_expert_info(warn and ex.warn or ex.note, "capflow: " .. text)
end

function capflow.dissector(tvb, pinfo, tree)
  local comments = { comment_field() }
  if #comments == 0 then return end
  local found = {}
  for _, fi in ipairs(comments) do
    local text = fi.value
    if type(text) == "string" then
      local ok, kind, value = pcall(classify, text)
      if not ok then
        found[#found + 1] = { "bad", "dissector error on \"" .. text .. "\"" }
      elseif kind then
        found[#found + 1] = { kind, value }
      end
    end
  end
  if #found == 0 then return end
  local root = tree:add(capflow)
  root:set_generated()
  local summary = {}
  for _, item in ipairs(found) do
    local kind, value = item[1], item[2]
    if kind == "tunnel" then
      add_tunnel(root, value)
      summary[#summary + 1] = "vni " .. value.vni
    elseif kind == "gso" then
      add_gso(root, value)
      summary[#summary + 1] = "gso " .. value.type .. " x" .. value.segs
    elseif kind == "note" then
      add_note(root, value)
      summary[#summary + 1] = "note"
    else
      root:add_proto_expert_info(ex.bad, "capflow comment not understood: " .. value)
      summary[#summary + 1] = "bad comment"
    end
  end
  root:append_text(": " .. table.concat(summary, ", "))
end

register_postdissector(capflow)
