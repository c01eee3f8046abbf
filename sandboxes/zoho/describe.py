"""How the Zoho sandbox describes its metadata: a field as ``GET /settings/fields`` answers it (with
every key ``fields.json`` requires, nulls where the schema allows them) and a module as
``GET /settings/modules`` lists it.
"""

from __future__ import annotations

from datetime import datetime, timezone

from leadsync.sandboxes.zoho.common import JSON, render_time
from leadsync.sandboxes.zoho.schema import DATA_TYPES, Field, Module

__all__ = ["field_json", "module_json"]


def _minimod(module: Module | None) -> JSON:
    return {"api_name": module.api_name if module else None, "id": module.id if module else None}


def field_json(f: Field, module: Module, tz: timezone, seq: int) -> JSON:
    """One field as ``GET /settings/fields`` describes it (every key ``fields.json`` requires)."""
    json_type, ui_type, length = DATA_TYPES[f.data_type]
    stamp = render_time(f.created, tz) if f.created and f.custom else None
    editable = not f.read_only
    picks = [
        {
            "display_value": v,
            "actual_value": v,
            "id": f"{f.id[:-3]}{i:03d}",
            "sequence_number": i + 1,
            "type": "used",
            "colour_code": None,
            "reference_value": v,
        }
        for i, v in enumerate(["-None-", *f.picklist] if f.data_type == "picklist" else [])
    ]
    none_mod = _minimod(None)
    return {
        "associated_module": none_mod,
        "data_type": f.data_type,
        "operation_type": {
            "web_update": editable,
            "api_create": editable,
            "web_create": editable,
            "api_update": editable,
        },
        "system_mandatory": f.mandatory and not f.custom,
        "webhook": True,
        "sequence_number": seq,
        "blueprint_supported": not f.read_only,
        "virtual_field": False,
        "field_read_only": f.read_only,
        "customizable_properties": [],
        "read_only": f.read_only,
        "custom_field": f.custom,
        "businesscard_supported": True,
        "filterable": True,
        "visible": True,
        "available_in_user_layout": True,
        "display_field": f.api_name == module.display,
        "pick_list_values_sorted_lexically": False,
        "sortable": f.data_type not in ("textarea", "jsonarray"),
        "layout_associations": [{"api_name": "Standard", "name": "Standard", "id": module.id[:-1] + "9"}],
        "separator": False,
        "searchable": True,
        "enable_colour_code": False,
        "mass_update": editable,
        "json_type": json_type,
        "created_source": "crm" if f.custom else "default",
        "type": "used",
        "display_label": f.label,
        "field_label": f.label,
        "column_name": f"{'CUSTOMFIELD' if f.custom else 'STDFIELD'}{f.id[-4:]}",
        "api_name": f.api_name,
        "display_type": -1,
        "ui_type": ui_type,
        "colour_code_enabled_by_system": False,
        "length": length,
        "decimal_place": 2 if f.data_type == "double" else None,
        "quick_sequence_number": str(seq),
        "email_parser": {"fields_update_supported": False, "record_operations_supported": False},
        "rollup_summary": None,
        "refer_from_field": {"id": None, "api_name": None},
        "created_time": stamp,
        "modified_time": stamp,
        "show_type": 7,
        "category": 2 if f.custom else 0,
        "id": f.id,
        "multi_module_lookup": None,
        "sharing_properties": {},
        "currency": None,
        "file_upolad_optionlist": [],
        "lookup": _lookup_json(f),
        "profiles": [{"name": "Administrator", "id": module.id[:-1] + "7", "permission_type": "read_write"}],
        "view_type": {"view": True, "edit": editable, "quick_create": f.mandatory, "create": editable},
        "unique": {"casesensitive": str(f.case_sensitive).lower()} if f.unique else None,
        "sub_module": none_mod,
        "subform": None,
        "formula": None,
        "external": {"show": False, "type": None, "allow_multiple_config": False},
        "private": {"restricted": False, "type": None, "export": False},
        "convert_mapping": {"Contacts": f.api_name if module.api_name == "Leads" and f.custom else None},
        "multiselectlookup": None,
        "multiuserlookup": {
            **{k: None for k in ("display_label", "lookup_apiname", "api_name", "id", "record_access")},
            **{"connectedfield_apiname": None, "connectedlookup_apiname": None},
            "linking_module": none_mod,
            "connected_module": none_mod,
        },
        "autonumber": {"starting_number_length": 0, "prefix": None, "suffix": None, "start_number": None},
        "auto_number": None,
        "pick_list_values": picks,
        "crypt": {"mode": None, "status": None},
        "tooltip": {"name": "", "value": ""},
        "history_tracking": {"module": {}, "duration_configured_field": none_mod},
        "association_details": {"related_field": none_mod, "lookup_field": none_mod},
        "allowed_modules": [],
        "additional_column": None,
        "common.picklist": None,
        "hipaa_compliance_enabled": False,
        "hipaa_compliance": {"restricted_in_export": False, "restricted": False},
        "_update_existing_records": False,
        "number_separator": f.data_type in ("integer", "double"),
        "textarea": {"type": "rich_text" if f.data_type == "textarea" else "small"},
        "static_field": not f.custom,
    }


def _lookup_json(f: Field) -> JSON | None:
    if f.data_type != "lookup":
        return None
    return {"display_label": f.label, "api_name": f.api_name, "module": {"api_name": f.lookup or None}}


def module_json(m: Module, tz: timezone, seq: int, at: datetime) -> JSON:
    """One module as ``GET /settings/modules`` lists it (the list's keys, not a module's describe)."""
    return {
        "api_name": m.api_name,
        "module_name": m.api_name,
        "singular_label": m.singular,
        "plural_label": m.api_name if m.api_name != "Events" else "Meetings",
        "id": m.id,
        "api_supported": True,
        "creatable": True,
        "editable": True,
        "deletable": True,
        "viewable": True,
        "visible": True,
        "convertable": m.api_name == "Leads",
        "generated_type": "default",
        "sequence_number": seq,
        "show_as_tab": m.api_name != "Notes",
        "visibility": 1,
        "modified_time": render_time(at, tz),
        "status": "visible",
    }
