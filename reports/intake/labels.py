"""What residents read on the report form: each category's icon and a few words of what it covers, its group."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

# Icons of static/vendor/lucide/icons.svg (scripts/vendor-assets.sh lists them); a category an administrator adds
# gets the generic one.
CATEGORY_ICONS = {
    "an_ninh_trat_tu": "shield", "gay_roi": "swords", "trom_cap": "hand-coins", "tu_tap_dong_nguoi": "users",
    "vi_pham_giao_thong": "car", "tieng_on": "volume-2", "moi_truong_rac_thai": "trash-2",
    "dat_dai_xay_dung": "building-2", "ha_tang_duong_hu_hong": "construction", "dien_chieu_sang": "lamp-floor",
    "cap_thoat_nuoc_ngap_ung": "droplets", "an_toan_thuc_pham": "utensils", "dot_rom_ra": "flame",
    "cay_xanh": "trees", "thu_tuc_hanh_chinh": "file-text",
}
GENERIC_ICON = "circle-help"
CATEGORY_HINTS = {
    "an_ninh_trat_tu": _l("Suspicious people, gambling, drugs, anything unsafe"),
    "gay_roi": _l("Fights, drunk people causing trouble"),
    "trom_cap": _l("Stolen motorbikes, break-ins, pickpockets"),
    "tu_tap_dong_nguoi": _l("Street racing, crowds blocking the street"),
    "vi_pham_giao_thong": _l("Cars on the pavement, stalls in the road, speeding in alleys"),
    "tieng_on": _l("Karaoke late at night, building work at night"),
    "moi_truong_rac_thai": _l("Rubbish not collected, dumping, dirty water in the street"),
    "dat_dai_xay_dung": _l("Building without a permit, public land taken"),
    "ha_tang_duong_hu_hong": _l("Potholes, broken drain covers, damaged pavements"),
    "dien_chieu_sang": _l("Street lights out or leaning poles"),
    "cap_thoat_nuoc_ngap_ung": _l("Blocked drains, flooding, burst water pipes"),
    "an_toan_thuc_pham": _l("Food stalls or shops that look unsafe"),
    "dot_rom_ra": _l("Burning straw, plastic or rubbish"),
    "cay_xanh": _l("Fallen branches, trees about to fall"),
    "thu_tuc_hanh_chinh": _l("Delays or unclear guidance at the ward office"),
}
DOMAIN_LABELS = {
    "security_order": _l("Security and order: the ward police"),
    "socio_economic": _l("Streets, environment and services: the ward People's Committee"),
}
DOMAIN_ICONS = {"security_order": "shield", "socio_economic": "landmark"}
