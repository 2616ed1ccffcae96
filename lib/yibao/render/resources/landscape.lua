-- The Quarto route's PDF (Typst): wide tables on landscape pages, as in the builtin route.
-- render/quarto.py wraps a wide table's output in raw Typst `#page(flipped: true)[` … `]` (render/builtin.landscape).
-- Pandoc's Typst writer sets every Div as `#block[…]` — the cell and its output display are Divs — and Typst
-- allows no page() inside a container ("page is not allowed inside of containers"). So every Div that holds
-- such an opening directly is replaced by its content (bottom-up: the output's Div, then the cell's), which
-- leaves the page at the top level of the document. Other Divs stay as they are.
local OPEN = "#page(flipped: true)["

local function opens_page(block)
  return block.t == "RawBlock" and block.format == "typst" and block.text:sub(1, #OPEN) == OPEN
end

function Div(div)
  if not FORMAT:match("typst") then
    return nil
  end
  for _, block in ipairs(div.content) do
    if opens_page(block) then
      return div.content
    end
  end
  return nil
end
