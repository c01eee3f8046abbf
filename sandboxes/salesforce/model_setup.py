"""The org's setup objects in the sandbox: Organization, User, Group (queues), LeadStatus and
AssignmentRule (read-only to the API), the permission objects that grant field-level security
(PermissionSet, FieldPermissions, PermissionSetAssignment), and the Tooling API's CustomField.
"""

from __future__ import annotations

from leadsync.sandboxes.salesforce.schema import ObjectDef, audit_fields, fld, make_object, picklist, ref, ro

__all__ = ["setup_objects"]


def _setup(statuses: list[str]) -> list[ObjectDef]:
    org = (
        [ro("Id", "id"), ro("Name", "string", length=80, name_field=True)]
        + [
            ro(n, "string", length=40)
            for n in (
                "TimeZoneSidKey",
                "DefaultLocaleSidKey",
                "LanguageLocaleKey",
                "OrganizationType",
                "InstanceName",
                "Country",
            )
        ]
        + [ro("IsSandbox", "boolean"), ro("CreatedDate", "datetime")]
    )
    user = (
        audit_fields(None)
        + [
            ro(n, "string", length=80)
            for n in (
                "Username",
                "FirstName",
                "LastName",
                "Alias",
                "Title",
                "Department",
                "TimeZoneSidKey",
                "UserType",
            )
        ]
        + [
            ro("Name", "string", length=121, name_field=True),
            ro("Email", "email"),
            ro("IsActive", "boolean"),
        ]
    )
    group = [
        *audit_fields(None),
        ro("Name", "string", length=40, name_field=True),
        ro("DeveloperName", "string", length=80),
        ro("Type", "picklist", picklist_values=picklist(["Regular", "Queue", "Role", "Organization"])),
        ro("Email", "email"),
    ]
    status = [
        ro("Id", "id"),
        ro("ApiName", "string", length=255),
        ro("MasterLabel", "picklist", picklist_values=picklist(statuses)),
    ]
    status += [ro("IsDefault", "boolean"), ro("IsConverted", "boolean"), ro("SortOrder", "int")]
    status += [
        ro("CreatedDate", "datetime"),
        ro("LastModifiedDate", "datetime"),
        ro("SystemModstamp", "datetime"),
    ]
    rule = [
        ro("Id", "id"),
        ro("Name", "string", length=120),
        ro("SobjectType", "picklist", picklist_values=picklist(["Lead", "Case"])),
    ]
    rule += [ro("Active", "boolean"), ro("CreatedDate", "datetime"), ro("SystemModstamp", "datetime")]
    return [
        make_object("Organization", org, createable=False, updateable=False, deletable=False),
        make_object("User", user, createable=False, updateable=False, deletable=False),
        make_object("Group", group, createable=False, updateable=False, deletable=False),
        make_object(
            "LeadStatus",
            status,
            "Lead Statuses",
            label="Lead Status",
            createable=False,
            updateable=False,
            deletable=False,
        ),
        make_object("AssignmentRule", rule, createable=False, updateable=False, deletable=False),
    ]


def _permissions() -> list[ObjectDef]:
    pset = [
        *audit_fields(None),
        fld("Name", "string", length=80, nillable=False, required=True, unique=True),
        fld("Label", "string", length=80, nillable=False, required=True, name_field=True),
        fld("Description", "textarea", length=255),
        ro("IsOwnedByProfile", "boolean"),
    ]
    fperm = [
        *audit_fields(None),
        ref("ParentId", ("PermissionSet",), "Parent", updateable=False, nillable=False, required=True),
        fld("SobjectType", "string", length=255, updateable=False, nillable=False, required=True),
        fld("Field", "string", length=255, updateable=False, nillable=False, required=True),
        fld("PermissionsRead", "boolean", nillable=False, default=False, label="Read Access"),
        fld("PermissionsEdit", "boolean", nillable=False, default=False, label="Edit Access"),
    ]
    assign = [
        *audit_fields(None),
        ref("AssigneeId", ("User",), "Assignee", updateable=False, nillable=False, required=True),
        ref(
            "PermissionSetId",
            ("PermissionSet",),
            "PermissionSet",
            updateable=False,
            nillable=False,
            required=True,
        ),
    ]
    return [
        make_object("PermissionSet", pset),
        make_object(
            "FieldPermissions", fperm, "Field Permissions", label="Field Permissions", updateable=True
        ),
        make_object("PermissionSetAssignment", assign, updateable=False),
    ]


def _custom_field() -> ObjectDef:
    fields = [
        ro("Id", "id"),
        ro("DeveloperName", "string", length=40),
        ro("TableEnumOrId", "string", length=40),
        fld("FullName", "string", length=255),
        fld("Metadata", "complexvalue"),
        ro("NamespacePrefix", "string", length=15),
        ro("ManageableState", "string", length=40),
        ro("CreatedDate", "datetime"),
        ro("LastModifiedDate", "datetime"),
    ]
    return make_object("CustomField", fields, tooling=True)


def setup_objects(statuses: list[str]) -> list[ObjectDef]:
    return [*_setup(statuses), *_permissions(), _custom_field()]
