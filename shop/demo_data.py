"""Word lists for the synthetic demo catalogue.

Each category has its own brands, product nouns, materials, price range and selling points, so that
generated products read like a real gift shop's and the categories differ in price and vocabulary
(which gives content-based recommenders something real to learn). ``partners`` names categories
whose products are often browsed alongside this one's; :data:`BUNDLES` names products that are
bought together (a teapot with a milk jug and mugs), which is what gives the demo's co-purchase
model real baskets to learn from.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class CategorySpec:
    name: str
    slug: str
    code: str
    brands: tuple[str, ...]
    nouns: tuple[str, ...]
    materials: tuple[str, ...]
    price_range: tuple[float, float]
    selling_points: tuple[str, ...]
    partners: tuple[str, ...]


STYLES = (
    "Vintage",
    "Scandi",
    "Rustic",
    "Botanical",
    "Striped",
    "Polka Dot",
    "Hand-Painted",
    "Geometric",
    "Retro",
    "Minimal",
    "Heritage",
    "Coastal",
    "Folk",
    "Art Deco",
)
COLOURS = (
    "Sage",
    "Terracotta",
    "Navy",
    "Mustard",
    "Blush",
    "Charcoal",
    "Ivory",
    "Teal",
    "Forest Green",
    "Duck Egg",
    "Berry",
    "Sand",
)
CARE = (
    "Wipe clean with a damp cloth.",
    "Made in small batches, so each one is slightly different.",
    "Arrives gift-wrapped on request.",
    "Designed in the UK.",
    "Packed in recycled, plastic-free packaging.",
    "Part of our best-loved collection.",
)

CATEGORIES: tuple[CategorySpec, ...] = (
    CategorySpec(
        name="Kitchen & Dining",
        slug="kitchen-dining",
        code="KIT",
        brands=("Hearth & Co", "Copperpot", "Saltbox"),
        nouns=(
            "Mug",
            "Teapot",
            "Chopping Board",
            "Salad Bowl",
            "Cafetière",
            "Tea Towel",
            "Butter Dish",
            "Spice Jar Set",
            "Pasta Bowl",
            "Milk Jug",
            "Cake Tin",
            "Egg Cup Set",
        ),
        materials=("stoneware", "enamel", "oak", "porcelain", "linen", "bamboo"),
        price_range=(4.0, 45.0),
        selling_points=(
            "Dishwasher safe and sturdy enough for every day.",
            "Sized for a generous breakfast.",
            "Pairs well with the rest of the range.",
        ),
        partners=("candles-fragrance", "home-decor"),
    ),
    CategorySpec(
        name="Home Decor",
        slug="home-decor",
        code="HOM",
        brands=("Nordlys", "Willow Lane", "Fernhouse"),
        nouns=(
            "Cushion",
            "Throw",
            "Vase",
            "Wall Clock",
            "Photo Frame",
            "Mirror",
            "Doorstop",
            "Table Lamp",
            "Coat Hook",
            "Storage Basket",
        ),
        materials=("cotton", "wool", "glass", "rattan", "metal", "velvet"),
        price_range=(8.0, 90.0),
        selling_points=(
            "Brings warmth to a living room or bedroom.",
            "An easy way to refresh a room.",
            "Looks just as good in a rented flat as in a farmhouse.",
        ),
        partners=("candles-fragrance", "garden"),
    ),
    CategorySpec(
        name="Candles & Fragrance",
        slug="candles-fragrance",
        code="CAN",
        brands=("Wick & Ember", "Lumen", "Bramble"),
        nouns=(
            "Scented Candle",
            "Tea Light Set",
            "Reed Diffuser",
            "Candle Holder",
            "Lantern",
            "Wax Melts",
            "T-Light Holder",
            "Room Spray",
        ),
        materials=("soy wax", "glass", "zinc", "ceramic", "beeswax"),
        price_range=(3.0, 40.0),
        selling_points=(
            "Burns cleanly for up to 40 hours.",
            "Scented with notes of fig, cedar and amber.",
            "A calm glow for long evenings.",
        ),
        partners=("home-decor", "bath-beauty"),
    ),
    CategorySpec(
        name="Garden",
        slug="garden",
        code="GAR",
        brands=("Greenshed", "Potting Bench", "Wildmeadow"),
        nouns=(
            "Plant Pot",
            "Watering Can",
            "Bird Feeder",
            "Trowel",
            "Seed Kit",
            "Garden Kneeler",
            "Herb Planter",
            "Plant Markers",
            "Bug Hotel",
        ),
        materials=("terracotta", "galvanised steel", "recycled plastic", "ash wood", "jute"),
        price_range=(5.0, 60.0),
        selling_points=(
            "Weatherproof, for balcony or back garden.",
            "A favourite with first-time growers.",
            "Good for bees, birds and beginners.",
        ),
        partners=("home-decor", "bags-accessories"),
    ),
    CategorySpec(
        name="Stationery",
        slug="stationery",
        code="STA",
        brands=("Inkwell", "Paperfox", "Quill & Co"),
        nouns=(
            "Notebook",
            "Greeting Card",
            "Wrapping Paper",
            "Pen Set",
            "Desk Planner",
            "Washi Tape",
            "Sticker Sheet",
            "Birthday Card",
            "Gift Tags",
        ),
        materials=("recycled paper", "card", "cloth", "kraft paper"),
        price_range=(1.5, 25.0),
        selling_points=(
            "Lies flat and takes fountain pen without bleeding.",
            "Printed with vegetable inks.",
            "The finishing touch for any present.",
        ),
        partners=("toys-games", "christmas"),
    ),
    CategorySpec(
        name="Toys & Games",
        slug="toys-games",
        code="TOY",
        brands=("Tumbletop", "Little Oak", "Puzzlewood"),
        nouns=(
            "Jigsaw Puzzle",
            "Wooden Train",
            "Card Game",
            "Plush Bear",
            "Building Blocks",
            "Skipping Rope",
            "Kite",
            "Spinning Top",
            "Memory Game",
        ),
        materials=("beech wood", "organic cotton", "card", "felt"),
        price_range=(4.0, 55.0),
        selling_points=(
            "Safety tested for ages 3 and up.",
            "Screen-free fun for the whole family.",
            "Built to be handed down.",
        ),
        partners=("stationery", "christmas"),
    ),
    CategorySpec(
        name="Bags & Accessories",
        slug="bags-accessories",
        code="BAG",
        brands=("Ramble", "Tote Society", "Kestrel"),
        nouns=(
            "Tote Bag",
            "Backpack",
            "Purse",
            "Scarf",
            "Umbrella",
            "Lunch Bag",
            "Wash Bag",
            "Shopper Bag",
            "Key Ring",
        ),
        materials=("canvas", "waxed cotton", "leather", "recycled nylon", "wool"),
        price_range=(5.0, 85.0),
        selling_points=(
            "Roomy enough for a laptop and a lunch.",
            "Folds small into a coat pocket.",
            "Water-resistant for British weather.",
        ),
        partners=("bath-beauty", "garden"),
    ),
    CategorySpec(
        name="Bath & Beauty",
        slug="bath-beauty",
        code="BTH",
        brands=("Soak", "Marigold & Mint", "Seaspray"),
        nouns=(
            "Soap Bar",
            "Bath Bomb",
            "Hand Cream",
            "Body Lotion",
            "Lip Balm",
            "Bath Salts",
            "Face Cloth",
            "Shower Gel",
        ),
        materials=("shea butter", "olive oil", "sea salt", "organic cotton"),
        price_range=(3.0, 35.0),
        selling_points=(
            "Gentle on sensitive skin.",
            "Vegan and never tested on animals.",
            "Smells of a summer garden.",
        ),
        partners=("candles-fragrance", "bags-accessories"),
    ),
    CategorySpec(
        name="Christmas",
        slug="christmas",
        code="XMS",
        brands=("Yuletide", "Northstar", "Frost & Fir"),
        nouns=(
            "Bauble Set",
            "Advent Calendar",
            "Christmas Wreath",
            "Stocking",
            "Tree Topper",
            "Fairy Lights",
            "Christmas Cracker",
            "Hanging Decoration",
            "Nativity Set",
        ),
        materials=("glass", "felt", "paper", "wood", "tin"),
        price_range=(2.5, 50.0),
        selling_points=(
            "Makes the tree the centre of the room.",
            "A family tradition in the making.",
            "Packed flat, stores neatly in January.",
        ),
        partners=("stationery", "candles-fragrance"),
    ),
    CategorySpec(
        name="Tech & Gadgets",
        slug="tech-gadgets",
        code="TEC",
        brands=("Voltbox", "Pocketlab", "Lumo"),
        nouns=(
            "Bluetooth Speaker",
            "Phone Stand",
            "Desk Lamp",
            "Power Bank",
            "Wireless Charger",
            "Earbuds",
            "Cable Organiser",
            "Alarm Clock",
        ),
        materials=("aluminium", "walnut", "silicone", "recycled plastic"),
        price_range=(9.0, 120.0),
        selling_points=(
            "USB-C, charges in under two hours.",
            "Small enough for any desk.",
            "Comes with a two-year guarantee.",
        ),
        partners=("home-decor", "stationery"),
    ),
)

#: Product nouns bought together: the first is the anchor, the rest complete its set. The seeder
#: gives each anchor product one product of every other noun (the same style where there is one),
#: and shoppers who put one of a set in their cart usually add the rest.
BUNDLES: tuple[tuple[str, ...], ...] = (
    ("Teapot", "Milk Jug", "Mug"),
    ("Cafetière", "Mug", "Tea Towel"),
    ("Cake Tin", "Tea Towel", "Butter Dish"),
    ("Scented Candle", "Candle Holder", "Tea Light Set"),
    ("Reed Diffuser", "Room Spray", "Wax Melts"),
    ("Cushion", "Throw", "Storage Basket"),
    ("Vase", "Photo Frame", "Candle Holder"),
    ("Plant Pot", "Watering Can", "Plant Markers"),
    ("Seed Kit", "Trowel", "Garden Kneeler"),
    ("Notebook", "Pen Set", "Washi Tape"),
    ("Wrapping Paper", "Gift Tags", "Birthday Card"),
    ("Jigsaw Puzzle", "Card Game", "Memory Game"),
    ("Tote Bag", "Purse", "Key Ring"),
    ("Bath Bomb", "Bath Salts", "Face Cloth"),
    ("Soap Bar", "Hand Cream", "Lip Balm"),
    ("Bauble Set", "Tree Topper", "Fairy Lights"),
    ("Advent Calendar", "Christmas Cracker", "Stocking"),
    ("Phone Stand", "Wireless Charger", "Cable Organiser"),
)

FIRST_NAMES = (
    "Olivia",
    "Amelia",
    "Isla",
    "Ava",
    "Mia",
    "Ivy",
    "Lily",
    "Freya",
    "Grace",
    "Sophie",
    "Noah",
    "Oliver",
    "George",
    "Arthur",
    "Leo",
    "Harry",
    "Oscar",
    "Jack",
    "Theo",
    "Finley",
)
LAST_NAMES = (
    "Smith",
    "Jones",
    "Taylor",
    "Brown",
    "Williams",
    "Wilson",
    "Evans",
    "Patel",
    "Khan",
    "Walker",
    "Wright",
    "Hughes",
    "Green",
    "Hall",
    "Wood",
    "Clarke",
)
